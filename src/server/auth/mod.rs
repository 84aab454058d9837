//! Authentication: JWT verification as a tower layer in front of every service.
//!
//! The layer sees the gRPC path (tonic's synchronous interceptor cannot), leaves health and
//! reflection open, verifies `authorization: Bearer <JWT>`, and puts the [`Principal`] into
//! the request extensions for the handlers.
//!
//! [`Principal`]: crate::core::Principal

mod jwks_url;
mod jwt;
mod keys;
mod layer;

pub use jwks_url::{JwksUrlOptions, MAX_JWKS_BYTES, Refresher, RemoteJwks};
pub use jwt::{Claims, Minter, TokenRequest, Verifier};
pub use keys::{
    DEFAULT_JWKS_MIN_REFETCH, DEFAULT_JWKS_REFRESH, DEFAULT_JWKS_TIMEOUT, JwtOptions, KeyMaterial,
};
pub use layer::{AuthLayer, JitUsers};
