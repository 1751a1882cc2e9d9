//! The registrar of RFC 3261 section 10.3 over two traits: [`Credentials`]
//! for users and [`LocationStore`] for bindings. Everything here is pure
//! logic that takes the time as an argument.

mod bindings;
mod location;
mod lockout;
mod register;
#[cfg(test)]
mod test_support;

pub use crate::auth::StoredCredential;
pub use location::{Binding, LocationStore, MemoryLocationStore};
pub use lockout::{Blocked, FailureLimiter, LockoutConfig, NewBlocks};
pub use register::{BlockSubject, Credentials, Registrar, RegistrarConfig, RegistrarEvent};
