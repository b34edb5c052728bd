//! Overload is an answer, not a collapse: at most `max_concurrent_requests` `/v1` requests
//! are in progress (a stream counts until its last byte); past that a request gets a fast
//! 503 `OVERLOADED` with `Retry-After` instead of queueing until every answer is late.
//! `/health`, the console and the management API are never refused here.

use std::{
    pin::Pin,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    task::{Context, Poll},
};

use axum::{
    body::{Body, Bytes},
    response::{IntoResponse, Response},
};
use http_body::{Body as HttpBody, Frame, SizeHint};

use crate::error::{ApiError, RequestError};
use crate::gateway::render;
use crate::ingress::anthropic_messages::AnthropicMessages;

/// The count of `/v1` requests in progress, and its ceiling.
pub struct Admission {
    in_flight: AtomicUsize,
    max: usize,
}

/// One admitted request; dropping it frees the place.
pub struct Ticket(Arc<Admission>);

impl Drop for Ticket {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Release);
    }
}

impl Admission {
    pub fn new(max: usize) -> Arc<Self> {
        Arc::new(Self {
            in_flight: AtomicUsize::new(0),
            max: max.max(1),
        })
    }

    /// A place for one more request, unless all are taken.
    pub fn enter(self: &Arc<Self>) -> Option<Ticket> {
        let before = self.in_flight.fetch_add(1, Ordering::AcqRel);
        if before >= self.max {
            self.in_flight.fetch_sub(1, Ordering::Release);
            return None;
        }
        Some(Ticket(self.clone()))
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }
}

/// The answer to a `/v1` request that found no place (in the Anthropic shape on
/// `/v1/messages`).
pub fn refusal(path: &str) -> Response {
    let refused = ApiError::from(RequestError::Overloaded);
    if path.starts_with("/v1/messages") {
        render(&AnthropicMessages, refused)
    } else {
        refused.into_response()
    }
}

/// Frees `ticket` with `response`: now for a whole answer, at its end for a stream.
pub fn hold(ticket: Ticket, response: Response) -> Response {
    if response.body().size_hint().exact().is_some() {
        return response;
    }
    response.map(|body| {
        Body::new(Ticketed {
            body,
            _ticket: ticket,
        })
    })
}

/// A streamed body that holds its request's place until it is dropped.
struct Ticketed {
    body: Body,
    _ticket: Ticket,
}

impl HttpBody for Ticketed {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_are_counted_and_freed() {
        let gate = Admission::new(2);
        let a = gate.enter().unwrap();
        let _b = gate.enter().unwrap();
        assert!(gate.enter().is_none(), "the third is refused");
        assert_eq!(gate.in_flight(), 2, "a refusal takes no place");
        drop(a);
        assert!(gate.enter().is_some());
    }
}
