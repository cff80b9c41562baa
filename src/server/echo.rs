//! httpbin's request echo (`/get`, `/delay`, `/headers`, `/ip`, `/user-agent`): the parts of
//! the request a client reads back, as httpbin shapes them — `args` and `form` with one
//! value as a string and several as a list, `headers` with Title-Case names (httpbin's proxy
//! headers hidden unless `?show_env`), `origin` the client's address, `url` the full URL.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::query;
use super::route::Field;

/// What the echo needs to know about a request.
#[derive(Clone, Debug, Default)]
pub struct RequestInfo {
    pub method: String,
    /// Path, with the query if any.
    pub target: String,
    pub query: String,
    /// In arrival order, names as received.
    pub headers: Vec<(String, String)>,
    /// The client's IP address.
    pub peer: String,
    /// The request body (read only by routes that reflect it).
    pub body: Vec<u8>,
}

/// Headers httpbin hides (set by the proxies in front of it) unless `show_env` is given.
const ENV_HEADERS: &[&str] = &[
    "x-varnish",
    "x-request-start",
    "x-heroku-queue-depth",
    "x-real-ip",
    "x-forwarded-proto",
    "x-forwarded-protocol",
    "x-forwarded-ssl",
    "x-heroku-queue-wait-time",
    "x-forwarded-for",
    "x-heroku-dynos-in-use",
    "x-forwarded-port",
    "x-request-id",
    "via",
    "total-route-time",
    "connect-time",
];

/// `user-agent` → `User-Agent`.
fn title_case(name: &str) -> String {
    name.split('-')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + &c.as_str().to_ascii_lowercase(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// One value as a string, several as a list (httpbin's `semiflatten`), keys sorted.
fn semiflatten(pairs: Vec<(String, String)>) -> Value {
    let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in pairs {
        m.entry(k).or_default().push(v);
    }
    Value::Object(
        m.into_iter()
            .map(|(k, mut v)| {
                let v = if v.len() == 1 {
                    Value::String(v.remove(0))
                } else {
                    v.into()
                };
                (k, v)
            })
            .collect(),
    )
}

impl RequestInfo {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn is_form(&self) -> bool {
        self.header("content-type").is_some_and(|c| {
            c.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        })
    }

    fn headers_value(&self) -> Value {
        let params = query::pairs(&self.query);
        let show_env = query::param(&params, "show_env").is_some();
        let mut m: BTreeMap<String, String> = BTreeMap::new();
        for (k, v) in &self.headers {
            if !show_env && ENV_HEADERS.iter().any(|e| k.eq_ignore_ascii_case(e)) {
                continue;
            }
            m.entry(title_case(k))
                .and_modify(|old| {
                    old.push(',');
                    old.push_str(v);
                })
                .or_insert_with(|| v.clone());
        }
        Value::Object(m.into_iter().map(|(k, v)| (k, v.into())).collect())
    }

    fn url(&self) -> String {
        let scheme = self
            .header("x-forwarded-proto")
            .or_else(|| self.header("x-forwarded-protocol"))
            .unwrap_or("http");
        let host = self.header("host").unwrap_or("127.0.0.1");
        format!("{scheme}://{host}{}", self.target)
    }

    fn value(&self, f: Field) -> Value {
        let body = String::from_utf8_lossy(&self.body);
        match f {
            Field::Args => semiflatten(query::pairs(&self.query)),
            Field::Form if self.is_form() => semiflatten(query::pairs(&body)),
            Field::Form | Field::Files => Value::Object(Map::new()),
            // A form body is read into `form`, as Flask does, and `data` stays empty.
            Field::Data if self.is_form() => "".into(),
            Field::Data => body.into_owned().into(),
            Field::Json => serde_json::from_slice(&self.body).unwrap_or(Value::Null),
            Field::Method => self.method.clone().into(),
            Field::Origin => self
                .header("x-forwarded-for")
                .unwrap_or(&self.peer)
                .to_string()
                .into(),
            Field::Url => self.url().into(),
            Field::Headers => self.headers_value(),
            Field::UserAgent => self.header("user-agent").unwrap_or("").to_string().into(),
        }
    }
}

/// The echo of `fields` of `req`: httpbin's JSON, pretty-printed with sorted keys and a
/// final newline.
pub fn echo(fields: &[Field], req: &RequestInfo) -> String {
    let mut m: BTreeMap<&str, Value> = BTreeMap::new();
    for &f in fields {
        m.insert(f.key(), req.value(f));
    }
    let obj = Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect());
    let mut s = serde_json::to_string_pretty(&obj).unwrap_or_else(|_| "{}".into());
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req() -> RequestInfo {
        RequestInfo {
            method: "GET".into(),
            target: "/get?a=1&b=2&a=3".into(),
            query: "a=1&b=2&a=3".into(),
            headers: vec![
                ("host".into(), "127.0.0.1:8080".into()),
                ("user-agent".into(), "conlab/test".into()),
                ("x-forwarded-for".into(), "10.9.8.7".into()),
                ("accept".into(), "a".into()),
                ("Accept".into(), "b".into()),
            ],
            peer: "127.0.0.1".into(),
            body: Vec::new(),
        }
    }

    #[test]
    fn get_is_shaped_like_httpbins() {
        let v: Value = serde_json::from_str(&echo(
            &[Field::Args, Field::Headers, Field::Origin, Field::Url],
            &req(),
        ))
        .expect("JSON");
        assert_eq!(v["args"], serde_json::json!({"a": ["1", "3"], "b": "2"}));
        assert_eq!(v["headers"]["Host"], "127.0.0.1:8080");
        assert_eq!(v["headers"]["User-Agent"], "conlab/test");
        assert_eq!(v["headers"]["Accept"], "a,b");
        assert!(v["headers"].get("X-Forwarded-For").is_none(), "{v}");
        assert_eq!(v["origin"], "10.9.8.7");
        assert_eq!(v["url"], "http://127.0.0.1:8080/get?a=1&b=2&a=3");
        assert_eq!(
            v.as_object().map(|o| o.len()),
            Some(4),
            "exactly the fields asked for"
        );
    }

    #[test]
    fn bodies_go_to_data_form_and_json() {
        let mut r = req();
        r.method = "POST".into();
        r.body = br#"{"x": 1}"#.to_vec();
        let fields = [Field::Data, Field::Form, Field::Json, Field::Files];
        let v: Value = serde_json::from_str(&echo(&fields, &r)).expect("JSON");
        assert_eq!(v["data"], r#"{"x": 1}"#);
        assert_eq!(v["json"]["x"], 1);
        assert_eq!(v["form"], serde_json::json!({}));
        r.headers.push((
            "content-type".into(),
            "application/x-www-form-urlencoded".into(),
        ));
        r.body = b"k=v+w".to_vec();
        let v: Value = serde_json::from_str(&echo(&fields, &r)).expect("JSON");
        assert_eq!(v["form"], serde_json::json!({"k": "v w"}));
        assert_eq!(v["data"], "");
        assert_eq!(v["json"], Value::Null);
    }

    #[test]
    fn show_env_reveals_proxy_headers() {
        let mut r = req();
        r.query = "show_env=1".into();
        let v: Value = serde_json::from_str(&echo(&[Field::Headers], &r)).expect("JSON");
        assert_eq!(v["headers"]["X-Forwarded-For"], "10.9.8.7");
        assert_eq!(title_case("x-REQUEST-id"), "X-Request-Id");
    }
}
