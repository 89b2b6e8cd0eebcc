//! The values the shared SQL binds and returns, in one small type both drivers convert, so
//! every store operation is written once (in `ops.rs`) for SQLite and PostgreSQL alike.

use bytes::BytesMut;
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};

use super::{StoredStatus, TaskRecord, from_json_list};

/// A bound parameter or a returned column.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Value {
    /// SQL NULL.
    Null,
    /// An integer (BIGINT).
    Int(i64),
    /// Text.
    Text(String),
}

impl From<i64> for Value {
    fn from(value: i64) -> Self {
        Self::Int(value)
    }
}

impl From<&str> for Value {
    fn from(value: &str) -> Self {
        Self::Text(value.to_owned())
    }
}

impl From<String> for Value {
    fn from(value: String) -> Self {
        Self::Text(value)
    }
}

impl From<&super::Owner> for Value {
    fn from(owner: &super::Owner) -> Self {
        Self::Text(owner.as_str().to_owned())
    }
}

impl From<&crate::comet::TaskId> for Value {
    fn from(task_id: &crate::comet::TaskId) -> Self {
        Self::Text(task_id.as_str().to_owned())
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(value: Option<T>) -> Self {
        value.map_or(Self::Null, Into::into)
    }
}

/// A returned row.
pub(super) type Row = Vec<Value>;

/// A column that does not hold what the statement promised.
#[derive(Debug, thiserror::Error)]
#[error("column {0} holds an unexpected value")]
pub(super) struct BadColumn(pub(super) usize);

/// Typed reads of a row's columns.
pub(super) trait Columns {
    fn int(&self, index: usize) -> Result<i64, BadColumn>;
    fn opt_int(&self, index: usize) -> Result<Option<i64>, BadColumn>;
    fn text(&self, index: usize) -> Result<String, BadColumn>;
    fn opt_text(&self, index: usize) -> Result<Option<String>, BadColumn>;
}

impl Columns for [Value] {
    fn int(&self, index: usize) -> Result<i64, BadColumn> {
        self.opt_int(index)?.ok_or(BadColumn(index))
    }

    fn opt_int(&self, index: usize) -> Result<Option<i64>, BadColumn> {
        match self.get(index) {
            Some(Value::Null) => Ok(None),
            Some(Value::Int(value)) => Ok(Some(*value)),
            _ => Err(BadColumn(index)),
        }
    }

    fn text(&self, index: usize) -> Result<String, BadColumn> {
        self.opt_text(index)?.ok_or(BadColumn(index))
    }

    fn opt_text(&self, index: usize) -> Result<Option<String>, BadColumn> {
        match self.get(index) {
            Some(Value::Null) => Ok(None),
            Some(Value::Text(value)) => Ok(Some(value.clone())),
            _ => Err(BadColumn(index)),
        }
    }
}

/// Reads a row of `record_columns!()`. `None` for a status this build does not know (a row
/// is skipped with a warning rather than failing a listing).
pub(super) fn record_from_row(row: &[Value]) -> Result<Option<TaskRecord>, BadColumn> {
    let status = row.text(3)?;
    let Some(status) = StoredStatus::parse(&status) else {
        tracing::warn!(status = ?status, "skipping a stored task with an unknown status");
        return Ok(None);
    };
    // A stored task id is read like any input: one that is not an id reads as none.
    let task_id = row
        .opt_text(1)?
        .and_then(|id| crate::comet::TaskId::parse(&id).ok());
    Ok(Some(TaskRecord {
        external_task_id: row.text(0)?,
        task_id,
        owner: super::Owner::stored(row.text(2)?),
        status,
        message: row.opt_text(4)?,
        mode: row.text(5)?,
        prompt_head: row.text(6)?,
        model: row.text(7)?,
        duration: row.opt_int(8)?.and_then(|d| u8::try_from(d).ok()),
        aspect_ratio: row.opt_text(9)?,
        video_urls: from_json_list(&row.text(10)?),
        local_files: from_json_list(&row.text(11)?),
        created_at_ms: row.int(12)?,
        updated_at_ms: row.int(13)?,
        simulated: row.int(14)? != 0,
        // Read like any input: text that is not a sane number reads as none.
        units: row
            .opt_text(15)?
            .and_then(|units| crate::comet::parse_units(&units)),
    }))
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(match self {
            Self::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Self::Int(value) => ToSqlOutput::Borrowed(ValueRef::Integer(*value)),
            Self::Text(value) => ToSqlOutput::Borrowed(ValueRef::Text(value.as_bytes())),
        })
    }
}

impl Value {
    /// A SQLite column as a value (text that is not UTF-8 is decoded lossily).
    pub(super) fn from_sqlite(value: rusqlite::types::ValueRef<'_>) -> Self {
        use rusqlite::types::ValueRef;
        match value {
            ValueRef::Null => Self::Null,
            ValueRef::Integer(value) => Self::Int(value),
            // Nothing here stores reals; truncating keeps a hand-edited row readable.
            ValueRef::Real(value) => Self::Int(value as i64),
            ValueRef::Text(bytes) | ValueRef::Blob(bytes) => {
                Self::Text(String::from_utf8_lossy(bytes).into_owned())
            }
        }
    }

    /// A PostgreSQL column as a value.
    pub(super) fn from_postgres(
        row: &tokio_postgres::Row,
        index: usize,
    ) -> Result<Self, tokio_postgres::Error> {
        let kind = row.columns().get(index).map(|c| c.type_().clone());
        Ok(match kind {
            Some(Type::INT8) => row.try_get::<_, Option<i64>>(index)?.into(),
            Some(Type::INT4) => row.try_get::<_, Option<i32>>(index)?.map(i64::from).into(),
            Some(Type::BOOL) => row.try_get::<_, Option<bool>>(index)?.map(i64::from).into(),
            _ => row.try_get::<_, Option<String>>(index)?.into(),
        })
    }
}

impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Self::Null => Ok(IsNull::Yes),
            Self::Int(value) => value.to_sql(ty, out),
            Self::Text(value) => value.as_str().to_sql(ty, out),
        }
    }

    fn accepts(ty: &Type) -> bool {
        <i64 as ToSql>::accepts(ty) || <&str as ToSql>::accepts(ty)
    }

    to_sql_checked!();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_become_null_and_columns_read_back() {
        let row: Row = vec![
            Value::from(Some(5i64)),
            Value::from(None::<String>),
            "x".into(),
        ];
        assert_eq!(row.int(0).unwrap(), 5);
        assert_eq!(row.opt_text(1).unwrap(), None);
        assert_eq!(row.text(2).unwrap(), "x");
        assert!(row.int(2).is_err());
        assert!(row.text(9).is_err());
    }
}
