//! The contract of a counter store, for memory and for a store across a
//! network alike.

use crate::catalog::{self, RequestId};

use super::{Admission, Limit, Millis};

/// When a store applies a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum At {
    /// Now, by the store's own clock: one clock for every broker that
    /// shares the store (a network store reads its server's time).
    Now,
    /// At this time, given by the caller (tests, replaying request files).
    Time(Millis),
}

/// One counter: a client and a request name.
///
/// The request's catalog id, if it has one, is looked up once when the key
/// is made, so no store needs to look it up again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CounterKey<'a> {
    pub(super) client: &'a str,
    pub(super) request: &'a str,
    pub(super) id: Option<RequestId>,
}

impl<'a> CounterKey<'a> {
    /// The key of a request whose catalog entry is known.
    pub(crate) fn known(
        client: &'a str,
        request: &'a str,
        id: Option<RequestId>,
    ) -> CounterKey<'a> {
        CounterKey {
            client,
            request,
            id,
        }
    }

    /// The key of `client`'s counter for `request`.
    pub fn new(client: &'a str, request: &'a str) -> CounterKey<'a> {
        CounterKey {
            client,
            request,
            id: catalog::lookup(request),
        }
    }

    /// The client (agent session, iframe connection).
    pub fn client(&self) -> &'a str {
        self.client
    }

    /// The request name.
    pub fn request(&self) -> &'a str {
        self.request
    }

    /// The request's catalog id, when it is a catalog request.
    pub fn catalog_id(&self) -> Option<RequestId> {
        self.id
    }
}

/// Where counters live, for a broker that calls it from ordinary threads.
///
/// A store applies [`step`](super::step) atomically per (client, request) key — one
/// transaction, or one round trip for a network store — so brokers sharing
/// it admit exactly the limit between them. Every call may fail (a network
/// store may be unreachable); [`MemoryStore`](super::MemoryStore) never does.
pub trait CounterStore: Send + Sync {
    /// Why a call failed.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Applies one request for `key` at `at`.
    fn admit(&self, key: CounterKey<'_>, limit: Limit, at: At) -> Result<Admission, Self::Error>;

    /// Drops every counter of a client whose session ended (this also ends
    /// its quarantines "until the session ends").
    fn end_session(&self, client: &str) -> Result<(), Self::Error>;
}

/// [`CounterStore`] for brokers on an async runtime: the same contract,
/// with calls that wait for the store without blocking a thread.
pub trait AsyncCounterStore: Send + Sync {
    /// Why a call failed.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Applies one request for `key` at `at`.
    fn admit(
        &self,
        key: CounterKey<'_>,
        limit: Limit,
        at: At,
    ) -> impl Future<Output = Result<Admission, Self::Error>> + Send;

    /// Drops every counter of a client whose session ended.
    fn end_session(&self, client: &str) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

/// A store shared between limiters: what a [`PolicyHandle`] gives each
/// policy it swaps in, so counters and quarantines outlive the policy.
///
/// [`PolicyHandle`]: crate::handle::PolicyHandle
impl<S: CounterStore + ?Sized> CounterStore for std::sync::Arc<S> {
    type Error = S::Error;

    fn admit(&self, key: CounterKey<'_>, limit: Limit, at: At) -> Result<Admission, Self::Error> {
        (**self).admit(key, limit, at)
    }

    fn end_session(&self, client: &str) -> Result<(), Self::Error> {
        (**self).end_session(client)
    }
}

impl<S: AsyncCounterStore> AsyncCounterStore for std::sync::Arc<S> {
    type Error = S::Error;

    fn admit(
        &self,
        key: CounterKey<'_>,
        limit: Limit,
        at: At,
    ) -> impl Future<Output = Result<Admission, Self::Error>> + Send {
        (**self).admit(key, limit, at)
    }

    fn end_session(&self, client: &str) -> impl Future<Output = Result<(), Self::Error>> + Send {
        (**self).end_session(client)
    }
}
