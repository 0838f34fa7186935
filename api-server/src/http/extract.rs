//! axum's extractors with rejections mapped onto `ApiError`, so malformed input
//! always gets the one JSON error shape.

use axum::extract::{FromRequest, FromRequestParts};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::paging::{Start, Window};
use crate::error::ApiError;

/// A JSON body, read with structs only from objects ([`super::strict_json`]):
/// every request body of this API is an object.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        let axum::Json(value) = axum::Json::<serde_json::Value>::from_request(req, state).await?;
        if !value.is_object() {
            return Err(ApiError::InvalidBody(
                "the body must be a JSON object".into(),
            ));
        }
        serde_path_to_error::deserialize(super::strict_json::Strict(value))
            .map(Json)
            .map_err(|e| ApiError::InvalidBody(e.to_string()))
    }
}

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
    /// How many rows the filter matches: present with page numbers (`page`,
    /// unless `count=none`) or `count=exact`, absent otherwise (counting a million rows per page
    /// is what made big lists slow; `hasMore` says whether to offer "next").
    pub total: Option<u64>,
    pub page: u32,
    pub per_page: u32,
    /// Pass as `after` to read the next page; absent on the last page.
    pub next_cursor: Option<String>,
    /// Whether rows follow this page.
    pub has_more: bool,
}

impl<T> Paged<T> {
    /// A page-number page of a small list that always counts.
    pub fn numbered(items: Vec<T>, total: u64, page: u32, per_page: u32) -> Self {
        let has_more = u64::from(page) * u64::from(per_page) < total;
        Self {
            items,
            total: Some(total),
            page,
            per_page,
            next_cursor: None,
            has_more,
        }
    }
}

/// `count=exact` asks a cursor list for the total number of matching rows;
/// `count=none` keeps page numbers from counting (the later pages of a list
/// whose first page brought the total).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CountMode {
    /// Count every matching row (costs a scan of the filter's rows).
    Exact,
    /// No total; `hasMore` only (the default).
    None,
}

/// Where a list page starts and what it answers, from `page`, `perPage`,
/// `after` and `count`.
#[derive(Debug)]
pub struct ListWindow<K> {
    pub start: Start<K>,
    pub page: u32,
    pub per_page: u32,
    pub count: bool,
}

/// Validates the paging parameters of a cursor list named `list`. `page`
/// keeps OFFSET paging (with a total, since page numbers need one) for small
/// sets; `after` continues from a cursor this list handed out; neither reads
/// the first page. A cursor wins over `page` (a client following `nextCursor`
/// from a numbered page keeps its other parameters); an empty one is no
/// cursor. A cursor of another list or a forged one is a 422.
pub fn list_window<K: DeserializeOwned>(
    list: &str,
    page: Option<u32>,
    per_page: Option<u32>,
    after: Option<&str>,
    count: Option<CountMode>,
) -> Result<ListWindow<K>, ApiError> {
    let (page_no, per_page, offset) = paging(page, per_page)?;
    let exact = count == Some(CountMode::Exact);
    let (start, count) = match (page, after.filter(|c| !c.is_empty())) {
        (_, Some(c)) => (Start::After(decode_cursor(list, c)?), exact),
        (Some(_), None) => (Start::Offset(offset), count != Some(CountMode::None)),
        (None, None) => (Start::First, exact),
    };
    Ok(ListWindow {
        start,
        page: page_no,
        per_page,
        count,
    })
}

/// An opaque cursor: the list's name and the sort key of the last row shown,
/// as base64url JSON. Opaque to clients, not secret: it only ever narrows a
/// query that is scoped to the caller anyway.
pub fn encode_cursor<K: Serialize>(list: &str, key: &K) -> String {
    let json = serde_json::to_vec(&(list, key)).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(json)
}

fn decode_cursor<K: DeserializeOwned>(list: &str, cursor: &str) -> Result<K, ApiError> {
    let bad = || ApiError::field("after", "is not a cursor of this list");
    if cursor.len() > 1024 {
        return Err(bad());
    }
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let (name, key): (String, K) = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if name != list {
        return Err(bad());
    }
    Ok(key)
}

impl<K> ListWindow<K> {
    /// The response page for a window of rows; `key` gives a row's cursor key.
    pub fn page<R, T, KS: Serialize>(
        &self,
        list: &str,
        w: Window<R>,
        key: impl Fn(&R) -> KS,
        view: impl FnMut(R) -> T,
    ) -> Paged<T> {
        let next_cursor = if w.has_more {
            w.items.last().map(|r| encode_cursor(list, &key(r)))
        } else {
            None
        };
        Paged {
            items: w.items.into_iter().map(view).collect(),
            total: w.total,
            page: self.page,
            per_page: self.per_page,
            next_cursor,
            has_more: w.has_more,
        }
    }
}
