//! What the fuzz targets feed their bytes to: conlab's readers of outside input, each
//! called as conlab calls it. Shared by the cargo fuzz targets (`fuzz/fuzz_targets/`,
//! nightly) and by `tests/fuzz_corpus.rs`, which runs every committed seed through the
//! same functions on stable. Each must return, not panic, whatever the bytes.

#![allow(dead_code)]

use std::io::BufRead;
use std::time::Duration;

use conlab::exec::CancelToken;

/// `--urls-file`: the capped URL list reader.
pub fn url_list(data: &[u8]) {
    let _ = conlab::workload::url_list::read_from(data, &CancelToken::new());
}

/// A recording (`conlab replay FILE`, `shot --from`): parsed, then played to its end into
/// the dashboard (or the watch screen) and drawn once, as a replay would.
pub fn recording(data: &[u8]) {
    let Ok(rec) = conlab::recording::record::parse(data, "fuzz.jsonl") else {
        return;
    };
    let area = ratatui_area();
    if let Some(app) = conlab::watch::playback::app_for(&rec, conlab::ui::theme::Theme::default()) {
        let mut buf = ratatui::buffer::Buffer::empty(area);
        conlab::watch::draw::render(&app, area, &mut buf);
        return;
    }
    let mut app = conlab::app::App::new(
        conlab::app::Settings::new("primes", 0, 1, true, 5.0),
        conlab::app::ThemeChoice::default(),
    );
    let mut player = conlab::recording::replay::Player::new(rec);
    let end = player.end().min(Duration::from_secs(24 * 3600));
    player.play_until(&mut app, end);
    let mut buf = ratatui::buffer::Buffer::empty(area);
    conlab::ui::render(&app, area, &mut buf);
}

fn ratatui_area() -> ratatui::layout::Rect {
    ratatui::layout::Rect::new(0, 0, 80, 24)
}

/// A lesson file (`conlab lesson FILE`).
pub fn lesson(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = conlab::experiment::lesson::parse(text, "fuzz.toml");
    }
}

/// The worker protocol, both ways, and the CPython driver's lines: each line of `data` as
/// a worker's event (what the pool reads), as a task message (what `conlab worker`
/// reads, checked against the catalog) and as a driver event.
pub fn worker_protocol(data: &[u8]) {
    let mut r = data;
    // Capped as the readers cap them (smaller here: a fuzz input is small).
    while let Ok(conlab::core::lines::Line::Text(line)) =
        conlab::core::lines::read_line_capped(&mut r, 1 << 20)
    {
        let _ = serde_json::from_str::<conlab::core::Stamped>(&line);
        if let Ok(msg) = serde_json::from_str::<conlab::exec::worker::TaskMessage>(&line) {
            let _ = conlab::exec::worker::check_message(&msg, conlab::workload::find);
        }
        let _ = conlab::runtime::protocol::parse(&line);
        if r.fill_buf().map_or(true, |b| b.is_empty()) {
            break;
        }
    }
}

/// Raw bytes to the embedded server (HTTP/1.1, or HTTP/2 after its preface), over the
/// real connection code.
pub fn http_request(data: &[u8]) {
    let _ = conlab::server::exchange(data, 64 * 1024);
}

/// A target: bytes in, nothing out (it must return).
pub type Target = fn(&[u8]);

/// Every target by name (for the stable test that feeds the seeds).
pub const TARGETS: [(&str, Target); 5] = [
    ("url_list", url_list),
    ("recording", recording),
    ("lesson", lesson),
    ("worker_protocol", worker_protocol),
    ("http_request", http_request),
];
