//! The theme the user chose: its name and whether colour may be used (`NO_COLOR`). The
//! dashboard's state keeps only this; drawing (`ui::theme`) resolves it into styles.

/// The themes `--theme` offers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ThemeName {
    #[default]
    Dark,
    Light,
    HighContrast,
}

/// A theme's name and whether it may colour (false under `NO_COLOR`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThemeChoice {
    pub name: ThemeName,
    pub color: bool,
}

impl Default for ThemeChoice {
    fn default() -> Self {
        ThemeChoice {
            name: ThemeName::Dark,
            color: true,
        }
    }
}

impl ThemeChoice {
    /// `name`, honouring `NO_COLOR` (any non-empty value).
    pub fn from_env(name: ThemeName) -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        ThemeChoice {
            name,
            color: !no_color,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_dark_in_colour() {
        let c = ThemeChoice::default();
        assert_eq!((c.name, c.color), (ThemeName::Dark, true));
    }
}
