//! Colours and glyph styles: dark (default), light and high-contrast, and a monochrome
//! variant for `NO_COLOR` that keeps meaning in glyphs, numbers and bold/reverse.
//!
//! Each coloured theme paints its own background (`base`), so it reads the same on a
//! dark or a light terminal; its colours are xterm-256 indices (the same on every
//! terminal), not the 16 ANSI colours a terminal's palette may remap. `NO_COLOR` paints
//! nothing and uses the terminal's own foreground and background, which suit each other.

use ratatui::style::{Color, Modifier, Style};

/// The themes `--theme` offers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ThemeName {
    #[default]
    Dark,
    Light,
    HighContrast,
}

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
                compute: s().fg(Color::Green),
                gil: s().fg(Color::LightRed),
                io: s().fg(Color::LightBlue),
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
                compute: s().fg(Color::Indexed(28)),
                gil: s().fg(Color::Indexed(160)),
                io: s().fg(Color::Indexed(25)),
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
                compute: s().fg(Color::LightGreen),
                gil: s().fg(Color::LightRed),
                io: s().fg(Color::LightCyan),
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
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    Theme::new(name, !no_color)
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

    #[test]
    fn load_colours_rise() {
        let t = Theme::default();
        assert_eq!(t.load_color(0.0), Color::Green);
        assert_eq!(t.load_color(100.0), Color::Red);
    }
}
