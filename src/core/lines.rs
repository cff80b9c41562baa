//! Reading newline-delimited text with a cap on each line, so a hostile or endless input
//! (`/dev/zero`, a child writing garbage) is an error with its line number, never an
//! allocation abort.

use std::io::BufRead;

/// Longest line of the worker protocol and of recordings: a task or event carrying the
/// largest body the workloads allow (64 MiB, hex-encoded) fits, with room to spare.
pub const MAX_LINE: usize = 160 * 1024 * 1024;

/// One step of [`read_line_capped`].
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// A line (without its `\n`; a final line may lack it).
    Text(String),
    /// More than the cap before a newline; the rest of the input is left unread.
    TooLong,
    /// Not UTF-8.
    NotText,
    Eof,
}

/// Read the next line of at most `max` bytes.
pub fn read_line_capped(r: &mut impl BufRead, max: usize) -> std::io::Result<Line> {
    let mut buf = Vec::new();
    loop {
        let chunk = match r.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            if buf.is_empty() {
                return Ok(Line::Eof);
            }
            break;
        }
        let (take, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        if buf.len() + take > max.saturating_add(1) {
            return Ok(Line::TooLong);
        }
        buf.extend_from_slice(&chunk[..take]);
        r.consume(take);
        if done {
            buf.pop();
            break;
        }
    }
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    Ok(String::from_utf8(buf).map_or(Line::NotText, Line::Text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_eof_and_the_cap() {
        let mut r = std::io::Cursor::new(b"ab\ncd\r\nlast".to_vec());
        assert_eq!(
            read_line_capped(&mut r, 10).ok(),
            Some(Line::Text("ab".into()))
        );
        assert_eq!(
            read_line_capped(&mut r, 10).ok(),
            Some(Line::Text("cd".into()))
        );
        assert_eq!(
            read_line_capped(&mut r, 10).ok(),
            Some(Line::Text("last".into()))
        );
        assert_eq!(read_line_capped(&mut r, 10).ok(), Some(Line::Eof));
        let mut r = std::io::Cursor::new(b"0123456789\nx".to_vec());
        assert_eq!(
            read_line_capped(&mut r, 10).ok(),
            Some(Line::Text("0123456789".into()))
        );
        let mut zeros = std::io::BufReader::new(std::io::repeat(0));
        assert_eq!(read_line_capped(&mut zeros, 1000).ok(), Some(Line::TooLong));
        let mut bad = std::io::Cursor::new(vec![0xff, b'\n']);
        assert_eq!(read_line_capped(&mut bad, 10).ok(), Some(Line::NotText));
    }
}
