//! Terminal colours as RGB, for exports that leave the terminal (SVG): the 16 ANSI
//! colours, the xterm 256-colour cube and greys, and the frame's default colours.

use ratatui::style::Color;

pub type Rgb = (u8, u8, u8);

/// Default foreground and background, what `Color::Reset` means in an export.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Defaults {
    pub fg: Rgb,
    pub bg: Rgb,
}

pub const DARK: Defaults = Defaults {
    fg: (0xd8, 0xdc, 0xe2),
    bg: (0x16, 0x18, 0x1d),
};

pub const LIGHT: Defaults = Defaults {
    fg: (0x1f, 0x23, 0x28),
    bg: (0xfa, 0xfa, 0xf7),
};

/// The 16 ANSI colours (a calm, legible variant of xterm's).
const ANSI: [Rgb; 16] = [
    (0x1d, 0x1f, 0x24),
    (0xe0, 0x6c, 0x75),
    (0x98, 0xc3, 0x79),
    (0xe5, 0xc0, 0x7b),
    (0x61, 0xaf, 0xef),
    (0xc6, 0x78, 0xdd),
    (0x56, 0xb6, 0xc2),
    (0xab, 0xb2, 0xbf),
    (0x5c, 0x63, 0x70),
    (0xff, 0x7b, 0x86),
    (0xb5, 0xe8, 0x90),
    (0xff, 0xd8, 0x8a),
    (0x82, 0xc8, 0xff),
    (0xdd, 0x9b, 0xf0),
    (0x7f, 0xd6, 0xe0),
    (0xf0, 0xf2, 0xf5),
];

/// xterm's 256-colour palette.
pub fn indexed(i: u8) -> Rgb {
    match i {
        0..=15 => ANSI[i as usize],
        16..=231 => {
            let i = i - 16;
            let level = |v: u8| if v == 0 { 0 } else { 55 + 40 * v };
            (level(i / 36), level((i / 6) % 6), level(i % 6))
        }
        _ => {
            let g = 8 + 10 * (i - 232);
            (g, g, g)
        }
    }
}

/// The RGB a colour shows as; `None` for `Reset` (use the default).
pub fn rgb(c: Color) -> Option<Rgb> {
    Some(match c {
        Color::Reset => return None,
        Color::Black => ANSI[0],
        Color::Red => ANSI[1],
        Color::Green => ANSI[2],
        Color::Yellow => ANSI[3],
        Color::Blue => ANSI[4],
        Color::Magenta => ANSI[5],
        Color::Cyan => ANSI[6],
        Color::Gray => ANSI[7],
        Color::DarkGray => ANSI[8],
        Color::LightRed => ANSI[9],
        Color::LightGreen => ANSI[10],
        Color::LightYellow => ANSI[11],
        Color::LightBlue => ANSI[12],
        Color::LightMagenta => ANSI[13],
        Color::LightCyan => ANSI[14],
        Color::White => ANSI[15],
        Color::Indexed(i) => indexed(i),
        Color::Rgb(r, g, b) => (r, g, b),
    })
}

pub fn hex((r, g, b): Rgb) -> String {
    format!("#{r:02x}{g:02x}{b:02x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cube_and_greys() {
        assert_eq!(indexed(16), (0, 0, 0));
        assert_eq!(indexed(231), (255, 255, 255));
        assert_eq!(indexed(232), (8, 8, 8));
        assert_eq!(indexed(255), (238, 238, 238));
        assert_eq!(rgb(Color::Rgb(1, 2, 3)), Some((1, 2, 3)));
        assert_eq!(rgb(Color::Reset), None);
        assert_eq!(hex((255, 0, 16)), "#ff0010");
    }
}
