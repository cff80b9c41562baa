//! `--httpbin local|remote`: an httpbin.org URL (http or https) given with `--url` or
//! `--urls-file` is served by the embedded server, same path and query, so an article's URL
//! list runs offline with the article's timings; `remote` sends it out as written.

/// Where httpbin.org URLs go.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum HttpbinMode {
    /// The embedded loopback server answers them.
    #[default]
    Local,
    /// They go to httpbin.org as written.
    Remote,
}

/// Is `url` an httpbin.org URL (http or https, any port)?
pub fn is_httpbin(url: &str) -> bool {
    httpbin_path(url).is_some()
}

/// The path and query of an httpbin.org URL (`/` when it has no path).
fn httpbin_path(url: &str) -> Option<String> {
    let uri: hyper::Uri = url.trim().parse().ok()?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) {
        return None;
    }
    if !uri
        .host()?
        .trim_end_matches('.')
        .eq_ignore_ascii_case("httpbin.org")
    {
        return None;
    }
    Some(
        uri.path_and_query()
            .map_or_else(|| "/".to_string(), |pq| pq.as_str().to_string()),
    )
}

/// `url` served by the server at `base` (`http://127.0.0.1:PORT`) when it is an httpbin.org
/// URL; `None` otherwise (it goes out as written).
pub fn local_url(url: &str, base: &str) -> Option<String> {
    httpbin_path(url).map(|p| format!("{}{p}", base.trim_end_matches('/')))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "http://127.0.0.1:4321";

    #[test]
    fn httpbin_urls_map_to_the_local_server_with_path_and_query() {
        for (url, want) in [
            ("https://httpbin.org/delay/1", "/delay/1"),
            ("http://httpbin.org/get?a=1&b=2", "/get?a=1&b=2"),
            ("https://HTTPBIN.org:443/bytes/10", "/bytes/10"),
            ("https://httpbin.org.", "/"),
            ("https://httpbin.org", "/"),
            (
                "https://httpbin.org/drip?duration=0.5&numbytes=5",
                "/drip?duration=0.5&numbytes=5",
            ),
        ] {
            assert_eq!(local_url(url, BASE), Some(format!("{BASE}{want}")), "{url}");
            assert!(is_httpbin(url));
        }
    }

    #[test]
    fn other_urls_are_left_alone() {
        for url in [
            "https://example.com/delay/1",
            "https://www.httpbin.org/get",
            "https://httpbin.org.evil.example/get",
            "https://evilhttpbin.org/get",
            "ftp://httpbin.org/get",
            "http://127.0.0.1:9/delay/1",
            "not a url",
            "",
        ] {
            assert_eq!(local_url(url, BASE), None, "{url}");
        }
    }
}
