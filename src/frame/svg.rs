//! A rendered frame as SVG: every cell's colours and bold/italic/underline/reverse/dim/
//! crossed-out kept, exact cell widths (box drawing and blocks line up), a monospace font
//! stack, and a terminal-window frame. Deterministic: the same buffer gives the same bytes.

use std::fmt::Write;

use ratatui::buffer::{Buffer, Cell};
use ratatui::style::Modifier;

use super::palette::{self, Defaults, Rgb};

/// Cell size in SVG units; the image scales cleanly from there (viewBox).
const CELL_W: f64 = 8.4;
const CELL_H: f64 = 17.0;
const FONT_SIZE: f64 = 14.0;
const PAD: f64 = 12.0;
/// Text baseline below a row's top: the font's ascent centred in the cell.
const BASELINE: f64 = 13.0;
const TITLE_H: f64 = 30.0;
const FONTS: &str =
    "'DejaVu Sans Mono', 'JetBrains Mono', Menlo, Consolas, 'Liberation Mono', monospace";

pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters are not allowed in XML 1.0.
            c if (c as u32) < 0x20 => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The colours and attributes a cell is drawn with (reverse applied).
#[derive(Clone, Copy, PartialEq, Eq)]
struct Look {
    fg: Rgb,
    bg: Rgb,
    bold: bool,
    italic: bool,
    underline: bool,
    dim: bool,
    crossed: bool,
    hidden: bool,
}

fn look(cell: &Cell, d: Defaults) -> Look {
    let fg = palette::rgb(cell.fg).unwrap_or(d.fg);
    let bg = palette::rgb(cell.bg).unwrap_or(d.bg);
    let m = cell.modifier;
    let (fg, bg) = if m.contains(Modifier::REVERSED) {
        (bg, fg)
    } else {
        (fg, bg)
    };
    Look {
        fg,
        bg,
        bold: m.contains(Modifier::BOLD),
        italic: m.contains(Modifier::ITALIC),
        underline: m.contains(Modifier::UNDERLINED),
        dim: m.contains(Modifier::DIM),
        crossed: m.contains(Modifier::CROSSED_OUT),
        hidden: m.contains(Modifier::HIDDEN),
    }
}

/// Block elements drawn as rectangles (fractions of the cell: x0, y0, x1, y1), so bars and
/// sparklines are seamless whatever the font's line height. Cell rectangles are drawn with
/// crisp edges, exactly on the cell grid: neighbours meet without an anti-aliased seam,
/// and a rectangle drawn over another (an animation's layer) covers it entirely.
fn block_shape(sym: &str) -> Option<(f64, f64, f64, f64)> {
    let mut chars = sym.chars();
    let c = chars.next()?;
    if chars.next().is_some() {
        return None;
    }
    let eighth = |n: u32| f64::from(n) / 8.0;
    Some(match c {
        '█' => (0.0, 0.0, 1.0, 1.0),
        '▀' => (0.0, 0.0, 1.0, 0.5),
        '▐' => (0.5, 0.0, 1.0, 1.0),
        '▁'..='▇' => (0.0, 1.0 - eighth(c as u32 - '▁' as u32 + 1), 1.0, 1.0),
        '▉'..='▏' => (0.0, 0.0, eighth('▏' as u32 - c as u32 + 1), 1.0),
        _ => return None,
    })
}

/// Quadrant block elements (the presenter's small digits, the kernel view's mixed
/// column) as their filled quarters (x0, y0, x1, y1), so they are drawn as rectangles
/// too: as text, a font leaves seams between them and a digit looks broken.
fn quadrants(sym: &str) -> Vec<(f64, f64, f64, f64)> {
    let mut chars = sym.chars();
    let (Some(c), None) = (chars.next(), chars.next()) else {
        return Vec::new();
    };
    // Upper left, upper right, lower left, lower right.
    let bits: u8 = match c {
        '▘' => 0b0001,
        '▝' => 0b0010,
        '▖' => 0b0100,
        '▗' => 0b1000,
        '▚' => 0b1001,
        '▞' => 0b0110,
        '▙' => 0b1101,
        '▛' => 0b0111,
        '▜' => 0b1011,
        '▟' => 0b1110,
        _ => return Vec::new(),
    };
    [
        (0.0, 0.0, 0.5, 0.5),
        (0.5, 0.0, 1.0, 0.5),
        (0.0, 0.5, 0.5, 1.0),
        (0.5, 0.5, 1.0, 1.0),
    ]
    .into_iter()
    .enumerate()
    .filter(|(i, _)| bits & (1 << i) != 0)
    .map(|(_, r)| r)
    .collect()
}

/// The size of a `cols`×`rows` frame's picture, window frame included.
pub fn picture_size(cols: usize, rows: usize) -> (f64, f64) {
    (
        cols as f64 * CELL_W + 2.0 * PAD,
        rows as f64 * CELL_H + 2.0 * PAD + TITLE_H,
    )
}

/// The document's opening: the `<svg>` element, the shared style (plus `extra_css`), the
/// window frame and title bar, and the group the cells are drawn in. Close with [`CLOSE`].
pub fn open(cols: usize, rows: usize, title: &str, d: Defaults, extra_css: &str) -> String {
    let (width, height) = picture_size(cols, rows);
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" xml:space="preserve" viewBox="0 0 {width:.1} {height:.1}" width="{width:.0}" height="{height:.0}" role="img" aria-label="{}">"#,
        escape(title)
    );
    let _ = writeln!(
        s,
        r#"<style>text{{font-family:{FONTS};font-size:{FONT_SIZE}px;white-space:pre}}.b{{font-weight:bold}}.i{{font-style:italic}}.u{{text-decoration:underline}}.s{{text-decoration:line-through}}.d{{opacity:.6}}g rect{{shape-rendering:crispEdges}}{extra_css}</style>"#
    );
    // Window frame and title bar.
    let bar = if d.bg.0 as u32 + d.bg.1 as u32 + d.bg.2 as u32 > 3 * 128 {
        (0xe4, 0xe4, 0xe0)
    } else {
        (0x2a, 0x2d, 0x34)
    };
    let _ = writeln!(
        s,
        r#"<rect width="{width:.1}" height="{height:.1}" rx="10" fill="{}"/>"#,
        palette::hex(d.bg)
    );
    let _ = writeln!(
        s,
        r#"<path d="M0 10a10 10 0 0 1 10-10h{:.1}a10 10 0 0 1 10 10v{:.1}h-{width:.1}z" fill="{}"/>"#,
        width - 20.0,
        TITLE_H - 10.0,
        palette::hex(bar)
    );
    for (i, color) in ["#ff5f57", "#febc2e", "#28c840"].iter().enumerate() {
        let _ = writeln!(
            s,
            r#"<circle cx="{}" cy="{:.1}" r="6" fill="{color}"/>"#,
            20 + 20 * i,
            TITLE_H / 2.0
        );
    }
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" fill="{}" text-anchor="middle">{}</text>"#,
        width / 2.0,
        TITLE_H / 2.0 + FONT_SIZE * 0.35,
        palette::hex(d.fg),
        escape(title)
    );
    let _ = writeln!(
        s,
        r#"<g transform="translate({PAD:.1} {:.1})">"#,
        TITLE_H + PAD
    );
    s
}

/// How far down `rows` rows are, in SVG units.
pub fn row_offset(rows: usize) -> f64 {
    rows as f64 * CELL_H
}

/// Closes what [`open`] opened.
pub const CLOSE: &str = "</g>\n</svg>\n";

/// A stretch of one row: cells `x0..x1` of row `y`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    pub y: usize,
    pub x0: usize,
    pub x1: usize,
}

/// Draw the cells of `segments` into `s`: backgrounds, then block elements, then text.
/// `opaque` also paints default backgrounds, so the drawing covers whatever lies beneath
/// it (an animation's layer over the frames before it); a still leaves them to the window.
pub fn draw_cells(s: &mut String, buf: &Buffer, segments: &[Segment], d: Defaults, opaque: bool) {
    let cell = |x: usize, y: usize| &buf[(buf.area.x + x as u16, buf.area.y + y as u16)];
    // Backgrounds: one rect per run of equal background.
    for seg in segments {
        let (y, mut x) = (seg.y, seg.x0);
        while x < seg.x1 {
            let bg = look(cell(x, y), d).bg;
            let start = x;
            while x < seg.x1 && look(cell(x, y), d).bg == bg {
                x += 1;
            }
            if opaque || bg != d.bg {
                let _ = writeln!(
                    s,
                    r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{CELL_H:.1}" fill="{}"/>"#,
                    start as f64 * CELL_W,
                    y as f64 * CELL_H,
                    (x - start) as f64 * CELL_W,
                    palette::hex(bg)
                );
            }
        }
    }
    // Block elements: rectangles, merged along a row when identical.
    for seg in segments {
        let (y, mut x) = (seg.y, seg.x0);
        while x < seg.x1 {
            let c = cell(x, y);
            let Some(shape) = block_shape(c.symbol()) else {
                // A quadrant: its quarters, each a rectangle on the cell grid.
                let l = look(c, d);
                for (x0, y0, x1, y1) in quadrants(c.symbol()) {
                    let _ = writeln!(
                        s,
                        r#"<rect x="{:.2}" y="{:.2}" width="{:.2}" height="{:.2}" fill="{}"{}/>"#,
                        (x as f64 + x0) * CELL_W,
                        (y as f64 + y0) * CELL_H,
                        (x1 - x0) * CELL_W,
                        (y1 - y0) * CELL_H,
                        palette::hex(l.fg),
                        if l.dim { r#" opacity=".6""# } else { "" }
                    );
                }
                x += 1;
                continue;
            };
            let l = look(c, d);
            let start = x;
            // Only shapes that span the cell's width join up with the next cell.
            if shape.0 == 0.0 && shape.2 == 1.0 {
                while x + 1 < seg.x1 {
                    let next = cell(x + 1, y);
                    if next.symbol() != c.symbol() || look(next, d) != l {
                        break;
                    }
                    x += 1;
                }
            }
            let (x0, y0, x1, y1) = shape;
            let _ = writeln!(
                s,
                r#"<rect x="{:.2}" y="{:.2}" width="{:.2}" height="{:.2}" fill="{}"{}/>"#,
                (start as f64 + x0) * CELL_W,
                (y as f64 + y0) * CELL_H,
                ((x - start) as f64 + x1 - x0) * CELL_W,
                (y1 - y0) * CELL_H,
                palette::hex(l.fg),
                if l.dim { r#" opacity=".6""# } else { "" }
            );
            x += 1;
        }
    }
    // Text: one element per run of same look, stretched to exactly n cells.
    for seg in segments {
        let (y, mut x) = (seg.y, seg.x0);
        while x < seg.x1 {
            let l = look(cell(x, y), d);
            let start = x;
            let mut text = String::new();
            let mut width_cells = 0;
            while x < seg.x1 {
                let c = cell(x, y);
                if look(c, d) != l {
                    break;
                }
                let sym = c.symbol();
                let w = unicode_width::UnicodeWidthStr::width(sym).max(1);
                let drawn_as_rect = block_shape(sym).is_some() || !quadrants(sym).is_empty();
                text.push_str(if sym.is_empty() || drawn_as_rect {
                    " "
                } else {
                    sym
                });
                // A wide character covers the next cell(s): don't draw them again.
                width_cells += w;
                x += w;
            }
            if l.hidden || text.trim().is_empty() {
                continue;
            }
            let mut classes = Vec::new();
            for (on, class) in [
                (l.bold, "b"),
                (l.italic, "i"),
                (l.underline, "u"),
                (l.crossed, "s"),
                (l.dim, "d"),
            ] {
                if on {
                    classes.push(class);
                }
            }
            let class = if classes.is_empty() {
                String::new()
            } else {
                format!(r#" class="{}""#, classes.join(" "))
            };
            let _ = writeln!(
                s,
                r#"<text x="{:.1}" y="{:.1}" textLength="{:.1}" lengthAdjust="spacingAndGlyphs" fill="{}"{class}>{}</text>"#,
                start as f64 * CELL_W,
                y as f64 * CELL_H + BASELINE,
                width_cells as f64 * CELL_W,
                palette::hex(l.fg),
                escape(&text)
            );
        }
    }
}

/// Every row of `buf`, whole.
pub fn whole_rows(buf: &Buffer) -> Vec<Segment> {
    (0..buf.area.height as usize)
        .map(|y| Segment {
            y,
            x0: 0,
            x1: buf.area.width as usize,
        })
        .collect()
}

/// Render `buf` as a standalone SVG document titled `title`.
pub fn render(buf: &Buffer, title: &str, d: Defaults) -> String {
    let mut s = open(
        buf.area.width as usize,
        buf.area.height as usize,
        title,
        d,
        "",
    );
    draw_cells(&mut s, buf, &whole_rows(buf), d, false);
    s.push_str(CLOSE);
    s
}

/// Pick the export defaults for a frame: light when the theme paints light backgrounds.
pub fn defaults_for(light: bool) -> Defaults {
    if light { palette::LIGHT } else { palette::DARK }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::layout::Rect;
    use ratatui::style::{Color, Style};

    fn sample() -> Buffer {
        let mut b = Buffer::empty(Rect::new(0, 0, 12, 3));
        b.set_string(0, 0, "┌──────────┐", Style::default().fg(Color::Cyan));
        b.set_string(0, 1, "│ <3 & ✓   │", Style::default().bold());
        b.set_string(0, 2, "└──────────┘", Style::default().reversed());
        b
    }

    #[test]
    fn is_well_formed_xml_with_the_text() {
        let svg = render(&sample(), "conlab <test>", palette::DARK);
        let doc = roxmltree::Document::parse(&svg).expect("valid XML");
        let text: String = doc
            .descendants()
            .filter(|n| n.has_tag_name("text"))
            .filter_map(|n| n.text())
            .collect();
        assert!(text.contains("&lt;3") || text.contains("<3"), "{text}");
        assert!(text.contains("┌──────────┐"));
        assert!(text.contains("conlab <test>"));
    }

    #[test]
    fn keeps_colours_and_attributes() {
        let svg = render(&sample(), "t", palette::DARK);
        assert!(svg.contains(&palette::hex(palette::rgb(Color::Cyan).expect("rgb"))));
        assert!(svg.contains(r#"class="b""#), "bold kept");
        // Reversed: the default fg becomes a background rect.
        assert!(svg.contains(&format!(r#"fill="{}"/>"#, palette::hex(palette::DARK.fg))));
    }

    #[test]
    fn block_elements_are_rectangles() {
        assert_eq!(block_shape("█"), Some((0.0, 0.0, 1.0, 1.0)));
        assert_eq!(block_shape("▄"), Some((0.0, 0.5, 1.0, 1.0)));
        assert_eq!(block_shape("▁"), Some((0.0, 0.875, 1.0, 1.0)));
        assert_eq!(block_shape("▏"), Some((0.0, 0.0, 0.125, 1.0)));
        assert_eq!(block_shape("▉"), Some((0.0, 0.0, 0.875, 1.0)));
        assert_eq!(block_shape("a"), None);
        assert_eq!(block_shape("░"), None);
        assert_eq!(
            quadrants("▚"),
            vec![(0.0, 0.0, 0.5, 0.5), (0.5, 0.5, 1.0, 1.0)]
        );
        assert_eq!(quadrants("▟").len(), 3);
        assert!(quadrants("a").is_empty() && quadrants("█").is_empty());
    }

    #[test]
    fn deterministic() {
        assert_eq!(
            render(&sample(), "t", palette::DARK),
            render(&sample(), "t", palette::DARK)
        );
    }
}
