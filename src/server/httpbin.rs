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

/// An httpbin.org URL pointed at the embedded server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalUrl {
    /// The embedded server's URL: same path and query.
    pub url: String,
    /// Headers to send with it so the server answers as httpbin.org would to the original:
    /// its `Host` (echoed in `headers` and `url`) and its scheme (`X-Forwarded-Proto`,
    /// which httpbin reads for `url` and hides from `headers`). The answers then do not
    /// depend on the local port, and every model's checksum agrees.
    pub headers: Vec<(&'static str, String)>,
}

/// Is `url` an httpbin.org URL (http or https, any port)?
pub fn is_httpbin(url: &str) -> bool {
    local(url, "").is_some()
}

/// `url` served by the server at `base` (`http://127.0.0.1:PORT`) when it is an httpbin.org
/// URL; `None` otherwise (it goes out as written).
pub fn local(url: &str, base: &str) -> Option<LocalUrl> {
    let uri: hyper::Uri = url.trim().parse().ok()?;
    let scheme = uri.scheme_str()?;
    if !matches!(scheme, "http" | "https") {
        return None;
    }
    if !uri
        .host()?
        .trim_end_matches('.')
        .eq_ignore_ascii_case("httpbin.org")
    {
        return None;
    }
    let path = uri.path_and_query().map_or("/", |pq| pq.as_str());
    let authority = uri.authority()?.as_str();
    Some(LocalUrl {
        url: format!("{}{path}", base.trim_end_matches('/')),
        headers: vec![
            ("host", authority.to_string()),
            ("x-forwarded-proto", scheme.to_string()),
        ],
    })
}

/// Just the local URL of [`local`].
pub fn local_url(url: &str, base: &str) -> Option<String> {
    local(url, base).map(|l| l.url)
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
    fn the_original_host_and_scheme_travel_as_headers() {
        let l = local("https://httpbin.org/get?x=1", BASE).expect("httpbin");
        assert_eq!(l.url, format!("{BASE}/get?x=1"));
        assert_eq!(
            l.headers,
            vec![
                ("host", "httpbin.org".to_string()),
                ("x-forwarded-proto", "https".to_string())
            ]
        );
        let l = local("http://httpbin.org:8080/", BASE).expect("httpbin");
        assert_eq!(l.headers[0].1, "httpbin.org:8080");
        assert_eq!(l.headers[1].1, "http");
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
