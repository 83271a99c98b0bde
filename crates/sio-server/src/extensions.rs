//! Per-socket typed state: a small map from type to value.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::RwLock;

type AnyMap = HashMap<TypeId, Box<dyn Any + Send + Sync>>;

/// A type map attached to each socket, for state the application keeps per connection
/// (a user id, a rate limiter, ...). Values are cloned out, so store `Arc`s for big ones.
///
/// It allocates nothing until the first insert, so idle sockets that never use it cost
/// one pointer-sized word.
///
/// ```
/// let ext = sio_server::Extensions::default();
/// ext.insert(42u32);
/// assert_eq!(ext.get::<u32>(), Some(42));
/// assert_eq!(ext.remove::<u32>(), Some(42));
/// assert!(ext.get::<u32>().is_none());
/// ```
#[derive(Default)]
pub struct Extensions {
    map: RwLock<Option<Box<AnyMap>>>,
}

impl std::fmt::Debug for Extensions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Extensions").finish_non_exhaustive()
    }
}

impl Extensions {
    /// Stores `value`, returning the previous value of that type.
    pub fn insert<T: Clone + Send + Sync + 'static>(&self, value: T) -> Option<T> {
        let mut guard = self.map.write().unwrap_or_else(|e| e.into_inner());
        guard
            .get_or_insert_with(Default::default)
            .insert(TypeId::of::<T>(), Box::new(value))
            .and_then(|old| old.downcast::<T>().ok().map(|b| *b))
    }

    /// A clone of the value of type `T`, if any.
    pub fn get<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        let guard = self.map.read().unwrap_or_else(|e| e.into_inner());
        guard
            .as_ref()?
            .get(&TypeId::of::<T>())?
            .downcast_ref::<T>()
            .cloned()
    }

    /// Removes and returns the value of type `T`.
    pub fn remove<T: Send + Sync + 'static>(&self) -> Option<T> {
        let mut guard = self.map.write().unwrap_or_else(|e| e.into_inner());
        guard
            .as_mut()?
            .remove(&TypeId::of::<T>())
            .and_then(|b| b.downcast::<T>().ok().map(|b| *b))
    }

    /// Whether a value of type `T` is stored.
    pub fn contains<T: Send + Sync + 'static>(&self) -> bool {
        let guard = self.map.read().unwrap_or_else(|e| e.into_inner());
        guard
            .as_ref()
            .is_some_and(|m| m.contains_key(&TypeId::of::<T>()))
    }
}
