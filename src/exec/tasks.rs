//! A plan's tasks: a list, or made on demand from their index, so a run of ten million
//! tiny tasks does not hold ten million JSON values.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use serde_json::Value;

type Make = Arc<dyn Fn(usize) -> Value + Send + Sync>;

#[derive(Clone)]
enum Source {
    List(Arc<[Value]>),
    /// Task `i` is `make(i)`: nothing is stored.
    Made(Make),
}

/// The tasks of one job: cheap to clone and to slice.
#[derive(Clone)]
pub struct Tasks {
    source: Source,
    /// This view covers tasks `offset..offset + len` of the source.
    offset: usize,
    len: usize,
}

impl Tasks {
    /// `len` tasks, task `i` being `make(i)`, made each time it is asked for.
    pub fn made(len: usize, make: impl Fn(usize) -> Value + Send + Sync + 'static) -> Self {
        Tasks {
            source: Source::Made(Arc::new(make)),
            offset: 0,
            len,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Task `i` (borrowed from a list, made for a generated plan).
    ///
    /// # Panics
    /// When `i` is out of range, as indexing a slice would.
    pub fn get(&self, i: usize) -> Cow<'_, Value> {
        assert!(i < self.len, "task {i} of {}", self.len);
        match &self.source {
            Source::List(v) => Cow::Borrowed(&v[self.offset + i]),
            Source::Made(make) => Cow::Owned(make(self.offset + i)),
        }
    }

    pub fn first(&self) -> Option<Cow<'_, Value>> {
        (!self.is_empty()).then(|| self.get(0))
    }

    pub fn iter(&self) -> impl Iterator<Item = Cow<'_, Value>> + '_ {
        (0..self.len).map(|i| self.get(i))
    }

    /// Tasks `range` of these, renumbered from 0.
    ///
    /// # Panics
    /// When the range reaches past the end.
    pub fn slice(&self, range: Range<usize>) -> Tasks {
        assert!(range.start <= range.end && range.end <= self.len);
        Tasks {
            source: self.source.clone(),
            offset: self.offset + range.start,
            len: range.end - range.start,
        }
    }
}

impl From<Vec<Value>> for Tasks {
    fn from(v: Vec<Value>) -> Self {
        let len = v.len();
        Tasks {
            source: Source::List(v.into()),
            offset: 0,
            len,
        }
    }
}

/// `tasks[i]` for a listed plan (tests and small plans read them this way).
///
/// # Panics
/// On a made plan (its tasks exist only when asked for: use [`Tasks::get`]) and out of
/// range.
impl std::ops::Index<usize> for Tasks {
    type Output = Value;
    fn index(&self, i: usize) -> &Value {
        match &self.source {
            Source::List(v) if i < self.len => &v[self.offset + i],
            Source::List(_) => panic!("task {i} of {}", self.len),
            Source::Made(_) => panic!("made tasks are not stored: use Tasks::get({i})"),
        }
    }
}

/// Written as a JSON array of every task (made ones are made as they are written).
impl serde::Serialize for Tasks {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl fmt::Debug for Tasks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.source {
            Source::List(_) => "list",
            Source::Made(_) => "made",
        };
        write!(f, "Tasks({} {kind})", self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn made_and_listed_tasks_read_alike() {
        let list = Tasks::from((0..5).map(|x| json!({ "x": x })).collect::<Vec<_>>());
        let made = Tasks::made(5, |x| json!({ "x": x }));
        assert_eq!(list.len(), 5);
        assert!(list.iter().eq(made.iter()));
        assert_eq!(made.slice(2..4).get(1).into_owned(), json!({ "x": 3 }));
        assert_eq!(list.slice(2..4).len(), 2);
        assert_eq!(
            list.slice(2..4).first().map(Cow::into_owned),
            Some(json!({ "x": 2 }))
        );
        assert!(made.slice(5..5).first().is_none());
        assert_eq!(list.slice(1..3)[1], json!({ "x": 2 }));
    }
}
