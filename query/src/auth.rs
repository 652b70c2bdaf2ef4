//! The admin bearer token that registry writes need.

use poem::http::{header, StatusCode};
use poem::Request;

use crate::context::AppContext;
use crate::error::ApiError;

/// Equal in time independent of where the inputs differ, so the token
/// cannot be guessed byte by byte from response times.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= usize::from(x ^ y);
    }
    diff == 0
}

/// Ok when the request carries `Authorization: Bearer <admin token>`:
/// 403 when writes are disabled (no admin token configured), 401 without
/// credentials, 403 with wrong ones.
pub(crate) fn require_admin(ctx: &AppContext, req: &Request) -> Result<(), ApiError> {
    let Some(expected) = ctx.admin_token.as_deref() else {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
            "registry writes are disabled: no admin token is configured (set HONEYGRAPH_ADMIN_TOKEN)",
        ));
    };
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "this endpoint needs `Authorization: Bearer <admin token>`",
        ));
    };
    let presented = value
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    let Some(presented) = presented else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "the Authorization header must be `Bearer <admin token>`",
        ));
    };
    if constant_time_eq(presented.as_bytes(), expected.as_bytes()) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
            "the admin token is wrong",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn compares_whole_tokens() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
        assert!(!constant_time_eq(b"", b"x"));
        assert!(constant_time_eq(b"", b""));
    }
}
