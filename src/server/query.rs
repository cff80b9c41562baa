//! Query strings as httpbin reads them: `a=1&b=x+y&a=2`, `+` and `%XX` decoded, a key
//! without `=` has the empty value, repeated keys keep every value in order.

use percent_encoding::percent_decode_str;

/// Decode one `application/x-www-form-urlencoded` component (`+` is a space).
pub fn decode(s: &str) -> String {
    let spaced = s.replace('+', " ");
    percent_decode_str(&spaced).decode_utf8_lossy().into_owned()
}

/// Every `key=value` pair of `query`, decoded, in order; empty pieces are skipped.
pub fn pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// The first value of `key` (compared ignoring ASCII case, like httpbin's
/// `CaseInsensitiveDict`).
pub fn param<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_pairs_like_a_form() {
        assert_eq!(
            pairs("a=1&b=x+y%21&&flag&a=2&%zz=%"),
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "x y!".into()),
                ("flag".into(), String::new()),
                ("a".into(), "2".into()),
                ("%zz".into(), "%".into()),
            ]
        );
        let p = pairs("NumBytes=5");
        assert_eq!(param(&p, "numbytes"), Some("5"));
        assert_eq!(param(&p, "code"), None);
        assert_eq!(decode("%FF"), "\u{FFFD}");
    }
}
