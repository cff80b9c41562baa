//! Frames as an asciicast recording (asciinema's format), v2 or v3 (asciinema 3's default):
//! a header line (v2: version, width, height, title; v3: version, `term.cols`, `term.rows`,
//! title), then one `[seconds, "o", data]` line per frame (v2: seconds since the start; v3:
//! since the previous event) holding only the
//! stretches of rows that changed ([`animate::changed_segments`]), each as a cursor move
//! and its cells' ANSI ([`text::ansi_span`]).
//! Deterministic: no wall-clock timestamp in the header.

use std::fmt::Write;

use ratatui::buffer::Buffer;
use serde_json::json;

use super::{animate, text};

/// Hide the cursor, clear the screen, cursor home.
const START: &str = "\x1b[?25l\x1b[2J\x1b[H";
/// Show the cursor again (the last event, at the end of the recording).
const END: &str = "\x1b[?25h";

/// An asciicast being built, frame by frame.
pub struct Cast {
    out: String,
    prev: Option<Buffer>,
    events: usize,
    /// v3: event times are intervals since the previous event.
    relative: bool,
    /// The time of the last event written, in seconds since the start.
    last_s: f64,
}

impl Cast {
    fn event(&mut self, at_s: f64, data: &str) {
        let data = serde_json::to_string(data).unwrap_or_else(|_| "\"\"".into());
        let t = if self.relative {
            // Rounded as written, so the intervals add up to the absolute times.
            let t = (at_s * 1000.0).round() / 1000.0 - (self.last_s * 1000.0).round() / 1000.0;
            t.max(0.0)
        } else {
            at_s
        };
        self.last_s = at_s;
        let _ = writeln!(self.out, "[{t:.3}, \"o\", {data}]");
    }

    /// An asciicast v3 (asciinema 3's default format) of `cols` × `rows`.
    pub fn new_v3(cols: u16, rows: u16, title: &str) -> Self {
        let header = json!({
            "version": 3,
            "term": {"cols": cols, "rows": rows, "type": "xterm-256color"},
            "title": title,
        });
        Cast {
            out: format!("{header}\n"),
            prev: None,
            events: 0,
            relative: true,
            last_s: 0.0,
        }
    }
}

impl Cast {
    pub fn new(cols: u16, rows: u16, title: &str) -> Self {
        let header = json!({
            "version": 2,
            "width": cols,
            "height": rows,
            "title": title,
            "env": {"TERM": "xterm-256color"},
        });
        Cast {
            out: format!("{header}\n"),
            prev: None,
            events: 0,
            relative: false,
            last_s: 0.0,
        }
    }

    /// Show `buf` from `at_s` on: the rows that changed since the last frame (all of them
    /// the first time). An unchanged frame writes nothing.
    pub fn frame(&mut self, buf: &Buffer, at_s: f64) {
        let rows = buf.area.height;
        let mut data = String::new();
        let prev = self.prev.as_ref().filter(|p| p.area == buf.area);
        if prev.is_none() {
            data.push_str(START);
        }
        match prev {
            None => {
                for y in 0..rows {
                    let _ = write!(data, "\x1b[{};1H{}\x1b[0m", y + 1, text::ansi_row(buf, y));
                }
            }
            Some(p) => {
                for seg in animate::changed_segments(p, buf) {
                    let _ = write!(
                        data,
                        "\x1b[{};{}H{}\x1b[0m",
                        seg.y + 1,
                        seg.x0 + 1,
                        text::ansi_span(buf, seg.y as u16, seg.x0 as u16, seg.x1 as u16)
                    );
                }
            }
        }
        if !data.is_empty() {
            self.event(at_s, &data);
            self.events += 1;
        }
        self.prev = Some(buf.clone());
    }

    /// Output events so far.
    pub fn events(&self) -> usize {
        self.events
    }

    /// The recording, ending at `end_s` (the last frame stays until then).
    pub fn finish(mut self, end_s: f64) -> String {
        self.event(end_s, END);
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::layout::Rect;
    use ratatui::style::Style;

    fn buf(lines: &[&str]) -> Buffer {
        let mut b = Buffer::empty(Rect::new(0, 0, 10, lines.len() as u16));
        for (y, l) in lines.iter().enumerate() {
            b.set_string(0, y as u16, l, Style::default().red());
        }
        b
    }

    #[test]
    fn header_then_events_with_only_changed_rows() {
        let mut c = Cast::new(10, 2, "conlab test");
        c.frame(&buf(&["a", "b"]), 0.0);
        c.frame(&buf(&["a", "b"]), 0.1);
        c.frame(&buf(&["a", "c"]), 0.2);
        c.frame(&buf(&["a  x", "c"]), 0.3);
        assert_eq!(c.events(), 3);
        let cast = c.finish(1.5);
        let lines: Vec<serde_json::Value> = cast
            .lines()
            .map(|l| serde_json::from_str(l).expect("every line is JSON"))
            .collect();
        assert_eq!(lines[0]["version"], 2);
        assert_eq!(lines[0]["width"], 10);
        assert_eq!(lines[0]["height"], 2);
        assert_eq!(lines.len(), 5);
        let first = lines[1][2].as_str().expect("data");
        assert!(
            first.starts_with(START) && first.contains("\x1b[1;1H") && first.contains("\x1b[2;1H")
        );
        assert_eq!(lines[2][0], 0.2);
        assert_eq!(lines[2][1], "o");
        let second = lines[2][2].as_str().expect("data");
        assert!(
            second.starts_with("\x1b[2;1H")
                && second.contains('c')
                && !second.contains("\x1b[1;1H"),
            "{second:?}"
        );
        // Mid-row: the cursor goes to the first changed cell (the styled spaces).
        let third = lines[3][2].as_str().expect("data");
        assert!(
            third.starts_with("\x1b[1;2H") && third.ends_with("x\x1b[0m"),
            "{third:?}"
        );
        assert_eq!(lines[4][0], 1.5);
        // Played into a terminal emulator, the events give the last frame.
        let mut term = vt100::Parser::new(
            std::num::NonZeroU16::new(2).expect("rows"),
            std::num::NonZeroU16::new(10).expect("cols"),
            0,
        );
        for l in &lines[1..] {
            term.process(l[2].as_str().expect("data").as_bytes());
        }
        let screen: Vec<String> = term
            .screen()
            .contents()
            .lines()
            .map(|l| l.trim_end().to_string())
            .collect();
        assert_eq!(screen, ["a  x", "c"]);
    }

    #[test]
    fn v3_has_a_term_header_and_intervals_between_events() {
        let mut c = Cast::new_v3(10, 2, "conlab test");
        c.frame(&buf(&["a", "b"]), 0.0);
        c.frame(&buf(&["a", "c"]), 0.25);
        c.frame(&buf(&["a", "d"]), 1.0);
        let cast = c.finish(1.5);
        let lines: Vec<serde_json::Value> = cast
            .lines()
            .map(|l| serde_json::from_str(l).expect("every line is JSON"))
            .collect();
        assert_eq!(lines[0]["version"], 3);
        assert_eq!(lines[0]["term"]["cols"], 10);
        assert_eq!(lines[0]["term"]["rows"], 2);
        let times: Vec<f64> = lines[1..]
            .iter()
            .map(|l| l[0].as_f64().expect("a time"))
            .collect();
        assert_eq!(times, [0.0, 0.25, 0.75, 0.5]);
        assert_eq!(lines[2][1], "o");
    }
}
