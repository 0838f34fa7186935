//! One window of a filtered list: keyset ("after this row") or, for small
//! sets, OFFSET paging; the total only when the caller asks for it.

use sqlx::mysql::MySqlRow;
use sqlx::{FromRow, MySql, MySqlPool, QueryBuilder};

/// A page of rows and how many rows the filter matches in all.
pub type Page<T> = (Vec<T>, u64);

/// Where a window starts. `After` carries the list's sort key of the last row
/// already shown; `Offset` is page-number paging, kept for small sets.
#[derive(Debug, Clone, PartialEq)]
pub enum Start<K> {
    First,
    After(K),
    Offset(u64),
}

impl<K> Start<K> {
    pub fn after(&self) -> Option<&K> {
        match self {
            Self::After(k) => Some(k),
            _ => None,
        }
    }

    pub fn offset(&self) -> u64 {
        match self {
            Self::Offset(o) => *o,
            _ => 0,
        }
    }
}

/// Rows of one window, whether more rows follow, and the total when asked.
#[derive(Debug)]
pub struct Window<T> {
    pub items: Vec<T>,
    pub has_more: bool,
    pub total: Option<u64>,
}

/// Runs `SELECT {columns} {from_where} {keyset} ORDER BY {order_by} LIMIT limit+1`
/// (with OFFSET for `Start::Offset`), and `SELECT COUNT(*) {from_where}` when
/// `count` is set. `from_where` pushes the `FROM … WHERE …` part with bound
/// values and `keyset` the ` AND <after the cursor>` condition; both are called
/// per query, so the count filters exactly like the page minus the cursor.
/// The extra row only tells whether another page exists, so no count is needed
/// for "more available".
#[allow(clippy::too_many_arguments)]
pub async fn fetch_window<T, K>(
    db: &MySqlPool,
    columns: &str,
    from_where: impl Fn(&mut QueryBuilder<'_, MySql>),
    keyset: impl Fn(&mut QueryBuilder<'_, MySql>, &K),
    order_by: &str,
    start: &Start<K>,
    limit: u32,
    count: bool,
) -> Result<Window<T>, sqlx::Error>
where
    T: for<'r> FromRow<'r, MySqlRow> + Send + Unpin,
{
    let mut q = window_query("", columns, &from_where, &keyset, order_by, start, limit);
    let mut items: Vec<T> = q.build_query_as().fetch_all(db).await?;
    let has_more = items.len() > limit as usize;
    items.truncate(limit as usize);
    let total = if count {
        let mut c = QueryBuilder::<MySql>::new("SELECT COUNT(*)");
        from_where(&mut c);
        let n: i64 = c.build_query_scalar().fetch_one(db).await?;
        Some(u64::try_from(n).unwrap_or(0))
    } else {
        None
    };
    Ok(Window {
        items,
        has_more,
        total,
    })
}

/// The page query of `fetch_window`; `prefix` is empty or `EXPLAIN `, so plan
/// tests read the plan of exactly the SQL the list runs.
pub fn window_query<'a, K>(
    prefix: &str,
    columns: &str,
    from_where: &impl Fn(&mut QueryBuilder<'a, MySql>),
    keyset: &impl Fn(&mut QueryBuilder<'a, MySql>, &K),
    order_by: &str,
    start: &Start<K>,
    limit: u32,
) -> QueryBuilder<'a, MySql> {
    let mut q = QueryBuilder::<MySql>::new(format!("{prefix}SELECT {columns}"));
    from_where(&mut q);
    if let Some(k) = start.after() {
        keyset(&mut q, k);
    }
    q.push(format!(" ORDER BY {order_by} LIMIT "))
        .push_bind(limit + 1);
    if start.offset() > 0 {
        q.push(" OFFSET ").push_bind(start.offset());
    }
    q
}

/// Runs `SELECT {columns} {from_where} ORDER BY {order_by} LIMIT … OFFSET …`
/// and `SELECT COUNT(*) {from_where}`, for the small lists that keep page
/// numbers (users, workflows).
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

/// One line of MariaDB/MySQL `EXPLAIN` output, the columns plan tests judge.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PlanStep {
    pub table: Option<String>,
    #[sqlx(rename = "type")]
    pub access: Option<String>,
    pub key: Option<String>,
    #[sqlx(rename = "Extra")]
    pub extra: Option<String>,
}

/// The plan of a list's page query (`EXPLAIN` of `window_query`).
pub async fn explain_window<K>(
    db: &MySqlPool,
    columns: &str,
    from_where: impl Fn(&mut QueryBuilder<'_, MySql>),
    keyset: impl Fn(&mut QueryBuilder<'_, MySql>, &K),
    order_by: &str,
    start: &Start<K>,
    limit: u32,
) -> Result<Vec<PlanStep>, sqlx::Error> {
    let mut q = window_query(
        "EXPLAIN ",
        columns,
        &from_where,
        &keyset,
        order_by,
        start,
        limit,
    );
    let rows = q.build().fetch_all(db).await?;
    rows.iter().map(PlanStep::from_row).collect()
}

/// One value of a sort key, as carried in a cursor.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum KeyValue {
    Null,
    Int(i64),
    Float(f64),
    Time(chrono::DateTime<chrono::Utc>),
}

/// One column of a list's sort key.
#[derive(Debug, Clone, Copy)]
pub struct KeyColumn {
    /// A fixed SQL expression, never built from input.
    pub expr: &'static str,
    pub descending: bool,
}

/// Pushes ` AND (<row is after `values` in the order of `columns`>)`, the
/// lexicographic comparison written as ORs of equalities plus one strict
/// comparison, the form both MariaDB and MySQL 8 turn into index ranges.
/// A NULL value stands for a group whose column is NULL throughout (it follows
/// an `expr IS NULL` key column), so it compares equal with `IS NULL` and no
/// row of the group is strictly after it on that column.
pub fn push_keyset(qb: &mut QueryBuilder<'_, MySql>, columns: &[KeyColumn], values: &[KeyValue]) {
    qb.push(" AND (");
    let mut first = true;
    for (i, (col, value)) in columns.iter().zip(values).enumerate() {
        if *value == KeyValue::Null {
            continue;
        }
        if !first {
            qb.push(" OR ");
        }
        first = false;
        qb.push("(");
        for (c, v) in columns[..i].iter().zip(values) {
            match v {
                KeyValue::Null => {
                    qb.push(format_args!("{} IS NULL AND ", c.expr));
                }
                v => {
                    qb.push(format_args!("{} = ", c.expr));
                    push_value(qb, v);
                    qb.push(" AND ");
                }
            }
        }
        qb.push(format_args!(
            "{} {} ",
            col.expr,
            if col.descending { "<" } else { ">" }
        ));
        push_value(qb, value);
        qb.push(")");
    }
    if first {
        qb.push("FALSE");
    }
    qb.push(")");
}

fn push_value(qb: &mut QueryBuilder<'_, MySql>, v: &KeyValue) {
    match v {
        KeyValue::Null => qb.push("NULL"),
        KeyValue::Int(i) => qb.push_bind(*i),
        KeyValue::Float(f) => qb.push_bind(*f),
        // As DATETIME (naive UTC; the connection's zone is UTC): bound as a
        // TIMESTAMP, instants past 2038 — such as the end of time tasks
        // without a due date sort at — would not compare.
        KeyValue::Time(t) => qb.push_bind(t.naive_utc()),
    };
}
