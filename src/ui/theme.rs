//! Colours and glyph styles: dark (default), light and high-contrast, and a monochrome
//! variant for `NO_COLOR` that keeps meaning in glyphs, numbers and bold/reverse.
//!
//! Each coloured theme paints its own background (`base`), so it reads the same on a
//! dark or a light terminal; its colours are xterm-256 indices (the same on every
//! terminal), not the 16 ANSI colours a terminal's palette may remap. `NO_COLOR` paints
//! nothing and uses the terminal's own foreground and background, which suit each other.
//!
//! The timeline's states are colour-blind safe in every theme: "computing" is blue and
//! "waiting for the GIL" orange (Okabe–Ito's pair), "waiting on I/O" violet or purple —
//! never red against green — and their glyphs differ too (█ ░ ≈), so no state is told
//! by colour alone. A test simulates protan, deutan and tritan vision to check it.

use ratatui::style::{Color, Modifier, Style};

pub use crate::app::{ThemeChoice, ThemeName};

/// Every style the panels use.
#[derive(Clone, Debug, PartialEq)]
pub struct Theme {
    pub name: ThemeName,
    /// False under `NO_COLOR`: styles carry modifiers only.
    pub color: bool,
    /// The whole screen's foreground and background, painted before the panels.
    pub base: Style,
    pub text: Style,
    pub dim: Style,
    pub title: Style,
    pub accent: Style,
    pub key: Style,
    pub border: Style,
    pub border_selected: Style,
    pub ok: Style,
    pub warn: Style,
    pub bad: Style,
    pub compute: Style,
    pub gil: Style,
    pub io: Style,
    /// Native code holding the GIL (the timeline's ▓).
    pub native: Style,
    pub idle: Style,
    /// Filled part of bars and gauges.
    pub bar: Style,
    /// Empty part of bars and gauges.
    pub bar_empty: Style,
    /// Load colours, low → high (foreground for bars, background for grid cells).
    pub load: [Color; 4],
}

impl Theme {
    pub fn new(name: ThemeName, color: bool) -> Self {
        if !color {
            return Theme::mono(name);
        }
        let s = Style::default;
        match name {
            ThemeName::Dark => Theme {
                name,
                color,
                base: s().fg(Color::Indexed(252)).bg(Color::Indexed(234)),
                text: s().fg(Color::Gray),
                dim: s().fg(Color::DarkGray),
                title: s().fg(Color::White).add_modifier(Modifier::BOLD),
                accent: s().fg(Color::Cyan),
                key: s().fg(Color::Yellow),
                border: s().fg(Color::DarkGray),
                border_selected: s().fg(Color::Cyan).add_modifier(Modifier::BOLD),
                ok: s().fg(Color::Green),
                warn: s().fg(Color::Yellow),
                bad: s().fg(Color::LightRed),
                // Okabe–Ito's sky blue and orange; a violet for I/O.
                compute: s().fg(Color::Indexed(81)),
                gil: s().fg(Color::Indexed(214)),
                io: s().fg(Color::Indexed(99)),
                native: s().fg(Color::Magenta),
                idle: s().fg(Color::DarkGray),
                bar: s().fg(Color::Cyan),
                bar_empty: s().fg(Color::DarkGray),
                load: [Color::Green, Color::Yellow, Color::LightRed, Color::Red],
            },
            ThemeName::Light => Theme {
                name,
                color,
                base: s().fg(Color::Indexed(235)).bg(Color::Indexed(231)),
                text: s().fg(Color::Indexed(235)),
                dim: s().fg(Color::Indexed(242)),
                title: s().fg(Color::Indexed(232)).add_modifier(Modifier::BOLD),
                accent: s().fg(Color::Indexed(25)),
                key: s().fg(Color::Indexed(90)),
                border: s().fg(Color::Indexed(247)),
                border_selected: s().fg(Color::Indexed(25)).add_modifier(Modifier::BOLD),
                ok: s().fg(Color::Indexed(28)),
                warn: s().fg(Color::Indexed(130)),
                bad: s().fg(Color::Indexed(160)),
                // Okabe–Ito blue, vermillion, reddish purple (dark enough for white).
                compute: s().fg(Color::Indexed(25)),
                gil: s().fg(Color::Indexed(166)),
                io: s().fg(Color::Indexed(132)),
                native: s().fg(Color::Indexed(127)),
                idle: s().fg(Color::Indexed(249)),
                bar: s().fg(Color::Indexed(25)),
                bar_empty: s().fg(Color::Indexed(253)),
                load: [
                    Color::Indexed(28),
                    Color::Indexed(136),
                    Color::Indexed(166),
                    Color::Indexed(160),
                ],
            },
            ThemeName::HighContrast => Theme {
                name,
                color,
                base: s().fg(Color::Indexed(231)).bg(Color::Indexed(16)),
                text: s().fg(Color::White),
                dim: s().fg(Color::White),
                title: s().fg(Color::White).add_modifier(Modifier::BOLD),
                accent: s().fg(Color::LightYellow).add_modifier(Modifier::BOLD),
                key: s().fg(Color::LightYellow).add_modifier(Modifier::BOLD),
                border: s().fg(Color::White),
                border_selected: s().fg(Color::LightYellow).add_modifier(Modifier::BOLD),
                ok: s().fg(Color::LightGreen).add_modifier(Modifier::BOLD),
                warn: s().fg(Color::LightYellow).add_modifier(Modifier::BOLD),
                bad: s().fg(Color::LightRed).add_modifier(Modifier::BOLD),
                // Light sky blue, orange, violet: bright on black, apart for every eye.
                compute: s().fg(Color::Indexed(117)),
                gil: s().fg(Color::Indexed(214)),
                io: s().fg(Color::Indexed(99)),
                native: s().fg(Color::LightMagenta),
                idle: s().fg(Color::White),
                bar: s().fg(Color::White),
                bar_empty: s().fg(Color::White),
                load: [
                    Color::LightGreen,
                    Color::LightYellow,
                    Color::LightMagenta,
                    Color::LightRed,
                ],
            },
        }
    }

    fn mono(name: ThemeName) -> Self {
        let s = Style::default;
        let bold = s().add_modifier(Modifier::BOLD);
        Theme {
            name,
            color: false,
            base: s(),
            text: s(),
            dim: s().add_modifier(Modifier::DIM),
            title: bold,
            accent: bold,
            key: bold,
            border: s(),
            border_selected: bold,
            ok: bold,
            warn: bold,
            bad: bold.add_modifier(Modifier::REVERSED),
            compute: s(),
            gil: s(),
            io: s(),
            native: s(),
            idle: s().add_modifier(Modifier::DIM),
            bar: s(),
            bar_empty: s().add_modifier(Modifier::DIM),
            load: [Color::Reset; 4],
        }
    }

    /// The colour for a load of `pct` (0–100).
    pub fn load_color(&self, pct: f32) -> Color {
        let i = match pct {
            p if p < 25.0 => 0,
            p if p < 60.0 => 1,
            p if p < 85.0 => 2,
            _ => 3,
        };
        self.load[i]
    }

    /// Foreground style for a bar at `pct`.
    pub fn load_fg(&self, pct: f32) -> Style {
        if self.color {
            Style::default().fg(self.load_color(pct))
        } else {
            Style::default()
        }
    }

    /// A grid cell at `pct`: coloured background, readable number on it.
    pub fn load_cell(&self, pct: f32) -> Style {
        if !self.color {
            return if pct >= 60.0 {
                Style::default().add_modifier(Modifier::REVERSED)
            } else {
                Style::default()
            };
        }
        let bg = self.load_color(pct);
        if pct < 5.0 {
            return self.dim;
        }
        Style::default().bg(bg).fg(Color::Indexed(16))
    }
}

impl Default for Theme {
    fn default() -> Self {
        Theme::new(ThemeName::Dark, true)
    }
}

/// The theme for `name`, honouring `NO_COLOR` (any non-empty value).
pub fn from_env(name: ThemeName) -> Theme {
    Theme::of(ThemeChoice::from_env(name))
}

impl Theme {
    /// The styles of the theme the user chose.
    pub fn of(choice: ThemeChoice) -> Theme {
        Theme::new(choice.name, choice.color)
    }
}

impl From<Theme> for ThemeChoice {
    fn from(t: Theme) -> Self {
        ThemeChoice {
            name: t.name,
            color: t.color,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mono_has_no_colours() {
        let t = Theme::new(ThemeName::Dark, false);
        assert_eq!(t.compute.fg, None);
        assert_eq!(t.load_fg(90.0).fg, None);
        assert_eq!(t.load_cell(10.0).bg, None);
    }

    #[test]
    fn coloured_themes_paint_their_background_and_mono_does_not() {
        for name in [ThemeName::Dark, ThemeName::Light, ThemeName::HighContrast] {
            let t = Theme::new(name, true);
            assert!(t.base.bg.is_some() && t.base.fg.is_some(), "{name:?}");
        }
        assert_eq!(Theme::new(ThemeName::Light, false).base, Style::default());
    }

    /// Colour-vision deficiency simulation (Machado, Oliveira & Fernandes 2009, severity
    /// 1.0, on linear RGB) and CIELAB distance, to check the timeline's palette.
    mod cvd {
        use crate::frame::palette::{Rgb, rgb};
        use ratatui::style::{Color, Style};

        pub const PROTAN: [[f64; 3]; 3] = [
            [0.152286, 1.052583, -0.204868],
            [0.114503, 0.786281, 0.099216],
            [-0.003882, -0.048116, 1.051998],
        ];
        pub const DEUTAN: [[f64; 3]; 3] = [
            [0.367322, 0.860646, -0.227968],
            [0.280085, 0.672501, 0.047413],
            [-0.011820, 0.042940, 0.968881],
        ];
        pub const TRITAN: [[f64; 3]; 3] = [
            [1.255528, -0.076749, -0.178779],
            [-0.078411, 0.930809, 0.147602],
            [0.004733, 0.691367, 0.303900],
        ];
        pub const NORMAL: [[f64; 3]; 3] = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];

        fn linear(c: u8) -> f64 {
            let c = f64::from(c) / 255.0;
            if c <= 0.04045 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        }

        /// The style's foreground as CIELAB, as seen through `m`.
        pub fn lab(style: Style, m: &[[f64; 3]; 3]) -> [f64; 3] {
            let (r, g, b): Rgb = rgb(style.fg.unwrap_or(Color::Reset)).expect("a colour");
            let l = [linear(r), linear(g), linear(b)];
            let v: Vec<f64> = m
                .iter()
                .map(|row| (row[0] * l[0] + row[1] * l[1] + row[2] * l[2]).clamp(0.0, 1.0))
                .collect();
            let x = 0.4124 * v[0] + 0.3576 * v[1] + 0.1805 * v[2];
            let y = 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2];
            let z = 0.0193 * v[0] + 0.1192 * v[1] + 0.9505 * v[2];
            let f = |t: f64| {
                if t > 0.008856 {
                    t.cbrt()
                } else {
                    7.787 * t + 16.0 / 116.0
                }
            };
            let (fx, fy, fz) = (f(x / 0.9505), f(y), f(z / 1.089));
            [116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)]
        }

        /// CIE76 distance between two styles' foregrounds as seen through `m`.
        pub fn delta_e(a: Style, b: Style, m: &[[f64; 3]; 3]) -> f64 {
            let (p, q) = (lab(a, m), lab(b, m));
            ((p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2) + (p[2] - q[2]).powi(2)).sqrt()
        }

        /// The smallest distance over normal, protan, deutan and tritan vision.
        pub fn worst(a: Style, b: Style) -> f64 {
            [NORMAL, PROTAN, DEUTAN, TRITAN]
                .iter()
                .map(|m| delta_e(a, b, m))
                .fold(f64::INFINITY, f64::min)
        }
    }

    /// Clearly apart for every eye: a CIE76 distance this large is two different colours
    /// at a glance, not shades of one.
    const APART: f64 = 25.0;

    #[test]
    fn timeline_states_are_apart_for_colour_blind_eyes_in_every_theme() {
        for name in [ThemeName::Dark, ThemeName::Light, ThemeName::HighContrast] {
            let t = Theme::new(name, true);
            for (what, a, b) in [
                ("computing / GIL wait", t.compute, t.gil),
                ("computing / I/O", t.compute, t.io),
                ("GIL wait / I/O", t.gil, t.io),
            ] {
                let d = cvd::worst(a, b);
                assert!(d >= APART, "{name:?} {what}: ΔE {d:.1} under some vision");
            }
            // And each state stands out from the theme's background.
            let bg = Style::default().fg(t.base.bg.expect("a background"));
            for (what, s) in [("computing", t.compute), ("GIL wait", t.gil)] {
                let d = cvd::worst(s, bg);
                assert!(d >= APART, "{name:?} {what} on the background: ΔE {d:.1}");
            }
        }
    }

    #[test]
    fn the_check_catches_a_red_green_pair() {
        // The light theme's old pair (green 28 computing, red 160 waiting): a deutan
        // eye sees two browns.
        let green = Style::default().fg(Color::Indexed(28));
        let red = Style::default().fg(Color::Indexed(160));
        assert!(cvd::delta_e(green, red, &cvd::NORMAL) >= APART);
        assert!(cvd::worst(green, red) < APART, "{}", cvd::worst(green, red));
    }

    #[test]
    fn load_colours_rise() {
        let t = Theme::default();
        assert_eq!(t.load_color(0.0), Color::Green);
        assert_eq!(t.load_color(100.0), Color::Red);
    }
}
