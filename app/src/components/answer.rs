//! A server action's answer, read so that a page the browser has already left cannot panic
//! the server.
//!
//! When a browser stops waiting for a page (the officer clicks elsewhere before it arrived),
//! the server drops the page's reactive state while a render task may still read it; reading
//! a dropped `ServerAction` panics (`Action::value`). The signals taken from the action when
//! the page is made are read with `try_get`, which then answers "nothing".

use leptos::prelude::*;
use leptos::reactive::signal::MappedSignal;

pub struct Answer<T: 'static> {
    value: MappedSignal<Option<T>>,
    pending: Memo<bool>,
}

impl<T: 'static> Clone for Answer<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: 'static> Copy for Answer<T> {}

impl<T: Clone + Send + Sync + 'static> Answer<T> {
    /// `action.value()` and `action.pending()`, taken while the page is being made.
    pub fn new(value: MappedSignal<Option<T>>, pending: Memo<bool>) -> Self {
        Answer { value, pending }
    }

    /// The last answer, if any (tracked).
    pub fn get(&self) -> Option<T> {
        self.value.try_get().flatten()
    }

    /// Whether an answer is on its way (tracked).
    pub fn pending(&self) -> bool {
        self.pending.try_get().unwrap_or(false)
    }

    /// Forgets the last answer (to show the empty form again).
    pub fn clear(&self) {
        self.value.try_set(None);
    }
}

impl<T: Clone + Send + Sync + 'static, E: Clone + Send + Sync + 'static> Answer<Result<T, E>> {
    /// The last answer, when it was a success.
    pub fn ok(&self) -> Option<T> {
        self.get().and_then(Result::ok)
    }

    /// The last answer, when it was an error.
    pub fn err(&self) -> Option<E> {
        self.get().and_then(Result::err)
    }
}
