//! Many requests at once, to show a limit or a race holds under concurrency.

use futures_util::future::join_all;
use reqwest::RequestBuilder;

/// The statuses of requests sent all at once, in the order the requests were given.
#[derive(Debug)]
pub struct Statuses(pub Vec<u16>);

impl Statuses {
    /// How many answered `status`.
    pub fn count(&self, status: u16) -> usize {
        self.0.iter().filter(|s| **s == status).count()
    }

    /// Asserts how many answered each status, e.g. `[(401, 5), (429, 25)]`.
    pub fn assert_counts(&self, expected: &[(u16, usize)]) {
        let counted: Vec<(u16, usize)> =
            expected.iter().map(|(s, _)| (*s, self.count(*s))).collect();
        assert_eq!(counted, expected, "{:?}", self.0);
    }
}

/// Sends every request at once (one task polls them all, so none waits for another to start)
/// and collects the statuses.
pub async fn all_at_once(requests: impl IntoIterator<Item = RequestBuilder>) -> Statuses {
    let sent = requests
        .into_iter()
        .map(|request| async move { request.send().await.expect("request").status().as_u16() });
    Statuses(join_all(sent).await)
}
