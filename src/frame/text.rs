//! A rendered frame as plain text (one line per row, trailing spaces trimmed) and as ANSI
//! (SGR escape codes per style change, for `cat` in a terminal).

use std::fmt::Write;

use ratatui::buffer::{Buffer, Cell};
use ratatui::style::{Color, Modifier};

/// The cells of row `y` that start a grapheme: the cells covered by a wide character
/// (CJK, some emoji) are left out, as the terminal itself draws them.
pub(crate) fn row_cells(buf: &Buffer, y: u16) -> impl Iterator<Item = &Cell> {
    let mut covered = 0usize;
    (0..buf.area.width).filter_map(move |x| {
        let cell = &buf[(buf.area.x + x, buf.area.y + y)];
        if covered > 0 {
            covered -= 1;
            return None;
        }
        covered = unicode_width::UnicodeWidthStr::width(cell.symbol()).saturating_sub(1);
        Some(cell)
    })
}

/// Plain text of the frame.
pub fn plain(buf: &Buffer) -> String {
    let mut s = String::new();
    for y in 0..buf.area.height {
        let line: String = row_cells(buf, y).map(Cell::symbol).collect();
        s.push_str(line.trim_end());
        s.push('\n');
    }
    s
}

fn sgr_color(c: Color, fg: bool) -> String {
    let base = if fg { 30 } else { 40 };
    match c {
        Color::Reset => format!("{}", base + 9),
        Color::Black => format!("{base}"),
        Color::Red => format!("{}", base + 1),
        Color::Green => format!("{}", base + 2),
        Color::Yellow => format!("{}", base + 3),
        Color::Blue => format!("{}", base + 4),
        Color::Magenta => format!("{}", base + 5),
        Color::Cyan => format!("{}", base + 6),
        Color::Gray => format!("{}", base + 7),
        Color::DarkGray => format!("{}", base + 60),
        Color::LightRed => format!("{}", base + 61),
        Color::LightGreen => format!("{}", base + 62),
        Color::LightYellow => format!("{}", base + 63),
        Color::LightBlue => format!("{}", base + 64),
        Color::LightMagenta => format!("{}", base + 65),
        Color::LightCyan => format!("{}", base + 66),
        Color::White => format!("{}", base + 67),
        Color::Indexed(i) => format!("{};5;{i}", base + 8),
        Color::Rgb(r, g, b) => format!("{};2;{r};{g};{b}", base + 8),
    }
}

fn sgr(cell: &Cell) -> String {
    let mut codes = vec!["0".to_string()];
    let m = cell.modifier;
    for (flag, code) in [
        (Modifier::BOLD, "1"),
        (Modifier::DIM, "2"),
        (Modifier::ITALIC, "3"),
        (Modifier::UNDERLINED, "4"),
        (Modifier::REVERSED, "7"),
        (Modifier::HIDDEN, "8"),
        (Modifier::CROSSED_OUT, "9"),
    ] {
        if m.contains(flag) {
            codes.push(code.into());
        }
    }
    codes.push(sgr_color(cell.fg, true));
    codes.push(sgr_color(cell.bg, false));
    format!("\x1b[{}m", codes.join(";"))
}

/// Row `y` with ANSI colours and attributes: an SGR code at each change of style, no
/// reset at its end (the caller decides what follows: a newline, a cursor move).
pub fn ansi_row(buf: &Buffer, y: u16) -> String {
    ansi_span(buf, y, 0, buf.area.width)
}

/// Cells `x0..x1` of row `y` as [`ansi_row`] writes them (a wide character starting in
/// the span is written whole).
pub fn ansi_span(buf: &Buffer, y: u16, x0: u16, x1: u16) -> String {
    let mut s = String::new();
    let mut last = String::new();
    let mut x = 0u16;
    for c in row_cells(buf, y) {
        let w = (unicode_width::UnicodeWidthStr::width(c.symbol()).max(1)) as u16;
        if (x0..x1).contains(&x) {
            let code = sgr(c);
            if code != last {
                s.push_str(&code);
                last = code;
            }
            s.push_str(c.symbol());
        }
        x += w;
    }
    s
}

/// The frame with ANSI colours and attributes.
pub fn ansi(buf: &Buffer) -> String {
    let mut s = String::new();
    for y in 0..buf.area.height {
        s.push_str(&ansi_row(buf, y));
        let _ = writeln!(s, "\x1b[0m");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::layout::Rect;
    use ratatui::style::Style;

    #[test]
    fn plain_and_ansi_carry_the_text() {
        let mut b = Buffer::empty(Rect::new(0, 0, 6, 2));
        b.set_string(0, 0, "ab", Style::default().red().bold());
        b.set_string(0, 1, "c", Style::default());
        assert_eq!(plain(&b), "ab\nc\n");
        let a = ansi(&b);
        assert!(a.contains("\x1b[0;1;31;49mab"), "{a:?}");
        assert_eq!(a.lines().count(), 2);
    }

    #[test]
    fn wide_characters_take_two_cells_once() {
        let mut b = Buffer::empty(Rect::new(0, 0, 6, 1));
        b.set_string(0, 0, "日本x", Style::default());
        assert_eq!(plain(&b), "日本x\n");
    }
}
