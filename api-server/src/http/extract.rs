//! axum's extractors with rejections mapped onto `ApiError`, so malformed input
//! always gets the one JSON error shape.

use axum::extract::{FromRequest, FromRequestParts};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::ApiError;

#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Json<T>(pub T);

#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);

#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

pub const DEFAULT_PER_PAGE: u32 = 50;
pub const MAX_PER_PAGE: u32 = 500;
pub const MAX_PAGE: u32 = 1_000_000;

/// Turns `page`/`perPage` query values into LIMIT/OFFSET, refusing nonsense.
pub fn paging(page: Option<u32>, per_page: Option<u32>) -> Result<(u32, u32, u64), ApiError> {
    let page = page.unwrap_or(1);
    let per = per_page.unwrap_or(DEFAULT_PER_PAGE);
    // The OpenAPI document states these bounds from the same constants
    // (`contract::SharedResponses`).
    if page == 0 || page > MAX_PAGE {
        return Err(ApiError::field("page", "must be between 1 and 1000000"));
    }
    if per == 0 || per > MAX_PER_PAGE {
        return Err(ApiError::field("perPage", "must be between 1 and 500"));
    }
    Ok((page, per, (page as u64 - 1) * per as u64))
}

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Paged<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
}
