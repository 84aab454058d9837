//! Authentication: JWT verification as a tower layer in front of every service.
//!
//! The layer sees the gRPC path (tonic's synchronous interceptor cannot), leaves health and
//! reflection open, verifies `authorization: Bearer <JWT>`, and puts the [`Principal`] into
//! the request extensions for the handlers.
//!
//! [`Principal`]: crate::core::Principal

mod jwt;
mod keys;
mod layer;

pub use jwt::{Claims, Minter, TokenRequest, Verifier};
pub use keys::{JwtOptions, KeyMaterial};
pub use layer::{AuthLayer, JitUsers};
