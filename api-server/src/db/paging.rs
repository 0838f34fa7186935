//! One page of a filtered list and the total count of the filter, for every
//! paged list endpoint.

use sqlx::mysql::MySqlRow;
use sqlx::{FromRow, MySql, MySqlPool, QueryBuilder};

/// A page of rows and how many rows the filter matches in all.
pub type Page<T> = (Vec<T>, u64);

/// Runs `SELECT {columns} {from_where} ORDER BY {order_by} LIMIT … OFFSET …`
/// and `SELECT COUNT(*) {from_where}`. `from_where` pushes the `FROM … WHERE …`
/// part (with bound values) and is called once per query, so both queries
/// filter exactly alike.
pub async fn fetch_page<T>(
    db: &MySqlPool,
    columns: &str,
    from_where: impl Fn(&mut QueryBuilder<'_, MySql>),
    order_by: &str,
    limit: u32,
    offset: u64,
) -> Result<Page<T>, sqlx::Error>
where
    T: for<'r> FromRow<'r, MySqlRow> + Send + Unpin,
{
    let mut q = QueryBuilder::<MySql>::new(format!("SELECT {columns}"));
    from_where(&mut q);
    q.push(format!(" ORDER BY {order_by} LIMIT "))
        .push_bind(limit)
        .push(" OFFSET ")
        .push_bind(offset);
    let items = q.build_query_as().fetch_all(db).await?;
    let mut count = QueryBuilder::<MySql>::new("SELECT COUNT(*)");
    from_where(&mut count);
    let total: i64 = count.build_query_scalar().fetch_one(db).await?;
    Ok((items, u64::try_from(total).unwrap_or(0)))
}
