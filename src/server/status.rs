//! `/status/{codes}` as httpbin answers it: one code, or a comma list chosen at random by
//! weight (`200:3,500:1`), and the headers a client may act on (a redirect's `location`,
//! 401's `www-authenticate`, ...). Bodies are empty except where httpbin sends one.

use super::route::{Body, Reply};

/// Final statuses the server can send (1xx are not final answers).
const CODES: std::ops::RangeInclusive<u16> = 200..=599;

/// One status code in 200..=599.
pub fn parse_code(s: &str) -> Result<u16, Reply> {
    s.trim()
        .parse::<u16>()
        .ok()
        .filter(|c| CODES.contains(c))
        .ok_or_else(|| {
            Reply::text(
                400,
                format!("Invalid status code `{s}`: a whole number in 200..=599\n"),
            )
        })
}

/// `200`, `200,500` or `200:3,500:0.5`: each code with its weight (1 when not given).
/// Weights are finite and not negative, and at least one is positive.
pub fn parse_codes(codes: &str) -> Result<Vec<(u16, f64)>, Reply> {
    let mut out = Vec::new();
    for choice in codes.split(',') {
        let (code, weight) = choice.split_once(':').unwrap_or((choice, "1"));
        let weight = weight
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|w| w.is_finite() && *w >= 0.0)
            .ok_or_else(|| {
                Reply::text(
                    400,
                    format!("Invalid weight `{weight}`: a number 0 or more\n"),
                )
            })?;
        out.push((parse_code(code)?, weight));
    }
    if !out.iter().any(|(_, w)| *w > 0.0) {
        return Err(Reply::text(
            400,
            "Invalid status codes: every weight is 0\n",
        ));
    }
    Ok(out)
}

/// The code a uniform `x` in [0, 1) picks from `choices` by weight.
pub fn choose(choices: &[(u16, f64)], x: f64) -> u16 {
    let total: f64 = choices.iter().map(|(_, w)| w).sum();
    let mut at = x.clamp(0.0, 1.0) * total;
    for &(code, w) in choices {
        if at < w {
            return code;
        }
        at -= w;
    }
    // Rounding left `at` at the very top: the last code with any weight.
    choices
        .iter()
        .rev()
        .find(|(_, w)| *w > 0.0)
        .map_or(500, |(c, _)| *c)
}

/// The reply httpbin gives for `code`.
pub fn reply(code: u16) -> Reply {
    let mut r = Reply::empty(code);
    match code {
        301 | 302 | 303 | 305 | 307 => r.headers.push(("location", "/redirect/1".into())),
        401 => r
            .headers
            .push(("www-authenticate", "Basic realm=\"Fake Realm\"".into())),
        407 => r
            .headers
            .push(("proxy-authenticate", "Basic realm=\"Fake Realm\"".into())),
        406 => {
            r.body = Body::Text {
                text: serde_json::json!({
                    "message": "Client did not request a supported media type.",
                    "accept": ["image/webp", "image/svg+xml", "image/jpeg", "image/png", "image/*"],
                })
                .to_string(),
                content_type: "application/json",
            }
        }
        418 => {
            r.body = Body::Text {
                text: "I'm a teapot\n".into(),
                content_type: "text/plain; charset=utf-8",
            };
            r.headers
                .push(("x-more-info", "http://tools.ietf.org/html/rfc2324".into()));
        }
        _ => {}
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_single_codes_and_weighted_lists() {
        assert_eq!(parse_codes("204"), Ok(vec![(204, 1.0)]));
        assert_eq!(parse_codes("200:3,500"), Ok(vec![(200, 3.0), (500, 1.0)]));
        for bad in ["", "x", "99", "600", "200:x", "200:-1", "200:0", "200:inf"] {
            assert_eq!(parse_codes(bad).map_err(|r| r.status), Err(400), "{bad}");
        }
    }

    #[test]
    fn choose_follows_the_weights() {
        let c = [(200, 3.0), (500, 1.0), (404, 0.0)];
        assert_eq!(choose(&c, 0.0), 200);
        assert_eq!(choose(&c, 0.74), 200);
        assert_eq!(choose(&c, 0.76), 500);
        assert_eq!(choose(&c, 0.999_999), 500);
        assert_eq!(choose(&c, 1.0), 500);
    }

    #[test]
    fn redirects_and_auth_carry_their_headers() {
        assert_eq!(
            reply(302).headers,
            vec![("location", "/redirect/1".to_string())]
        );
        assert_eq!(reply(401).headers[0].0, "www-authenticate");
        assert_eq!(reply(200), Reply::empty(200));
        assert!(matches!(reply(406).body, Body::Text { .. }));
    }
}
