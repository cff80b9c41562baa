//! The screenshot effect: what the dashboard shows now → `<dir>/conlab-<UTC time>.svg`
//! (+ .txt, .ans), the outcome reported back as [`Msg::ShotSaved`].

use std::path::{Path, PathBuf};

use ratatui::buffer::Buffer;
use ratatui::layout::{Rect, Size};

use crate::app::{App, Msg};
use crate::ui;

/// Save the frame `app` draws at `size` into `dir`; the result as a message for the app.
pub fn save(app: &App, size: Size, dir: &Path) -> Msg {
    Msg::ShotSaved(write(app, size, dir).map_err(|e| format!("{e:#}")))
}

fn write(app: &App, size: Size, dir: &Path) -> anyhow::Result<PathBuf> {
    let area = Rect::new(0, 0, size.width, size.height);
    let mut buf = Buffer::empty(area);
    ui::render(app, area, &mut buf);
    crate::recording::shot::write_files(
        &buf,
        dir,
        &format!("conlab-{}", timestamp()),
        &crate::recording::shot::title_of(app),
        app.theme().name,
    )
}

/// UTC `YYYYMMDD-HHMMSS` for file names, now.
pub(crate) fn timestamp() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    utc_stamp(secs)
}

/// UTC `YYYYMMDD-HHMMSS` of `secs` since the Unix epoch (no time-zone database, no date
/// crate: conlab needs this one conversion, for file names).
fn utc_stamp(secs: u64) -> String {
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}-{:02}{:02}{:02}",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_are_civil_utc_dates() {
        assert_eq!(utc_stamp(0), "19700101-000000");
        // 2000-02-29 (a leap day in a century leap year) 23:59:59.
        assert_eq!(utc_stamp(951_868_799), "20000229-235959");
        // 2026-11-24 01:07:55.
        assert_eq!(utc_stamp(1_795_482_475), "20261124-010755");
    }
}
