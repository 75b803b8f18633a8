//! Database schemas (ovsdb(7), RFC 7047 section 3.2): parsing with checks,
//! and the normalised JSON that `get_schema` returns.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::Arc;

use serde_json::{Map, Value as Json};

use crate::atom::{AtomicType, is_id};
use crate::db::FastHasher;
use crate::error::{Error, ErrorKind, Result};
use crate::types::{ObjectParser, RefType, Type};

/// Tables or columns by name.
type Names<T> = HashMap<String, T, BuildHasherDefault<FastHasher>>;

/// Position of a table in [`DatabaseSchema::tables`].
pub type TableId = usize;
/// Position of a column in [`TableSchema::columns`].
pub type ColumnId = usize;

/// Every table has these two columns first.
pub const COL_UUID: ColumnId = 0;
pub const COL_VERSION: ColumnId = 1;

#[derive(Debug, Clone)]
pub struct ColumnSchema {
    pub name: String,
    pub ty: Type,
    pub ephemeral: bool,
    pub mutable: bool,
    /// Where the keys point, if they are references.
    pub key_ref: Option<(TableId, RefType)>,
    /// Where the values point, if they are references.
    pub value_ref: Option<(TableId, RefType)>,
}

impl ColumnSchema {
    fn new(name: &str, ty: Type) -> ColumnSchema {
        ColumnSchema { name: name.into(), ty, ephemeral: false, mutable: true, key_ref: None, value_ref: None }
    }

    pub fn has_refs(&self) -> bool {
        self.key_ref.is_some() || self.value_ref.is_some()
    }

    pub fn has_strong_refs(&self) -> bool {
        matches!(self.key_ref, Some((_, RefType::Strong))) || matches!(self.value_ref, Some((_, RefType::Strong)))
    }

    pub fn has_weak_refs(&self) -> bool {
        matches!(self.key_ref, Some((_, RefType::Weak))) || matches!(self.value_ref, Some((_, RefType::Weak)))
    }

    fn from_json(name: &str, json: &Json) -> Result<ColumnSchema> {
        let mut p = ObjectParser::new(json, "schema for column")?;
        let ty = Type::from_json(p.required("type")?)?;
        let ephemeral = p.optional_bool("ephemeral")?.unwrap_or(false);
        let mutable = p.optional_bool("mutable")?.unwrap_or(true);
        p.finish()?;
        Ok(ColumnSchema { ephemeral, mutable, ..ColumnSchema::new(name, ty) })
    }

    pub fn to_json(&self) -> Json {
        let mut obj = Map::new();
        obj.insert("type".into(), self.ty.to_json());
        if self.ephemeral {
            obj.insert("ephemeral".into(), true.into());
        }
        if !self.mutable {
            obj.insert("mutable".into(), false.into());
        }
        Json::Object(obj)
    }
}

#[derive(Debug, Clone)]
pub struct TableSchema {
    pub name: String,
    /// `_uuid`, `_version`, then the schema's columns in name order.
    pub columns: Vec<ColumnSchema>,
    pub max_rows: Option<u64>,
    pub is_root: bool,
    /// Each index is a set of columns whose values must be unique together.
    pub indexes: Vec<Vec<ColumnId>>,
    /// Looked up for every column a request names: a quick hash.
    column_ids: Names<ColumnId>,
    /// The columns holding references of each kind, for the checks of
    /// every commit (found once the schema's references are resolved).
    strong_ref_columns: Vec<ColumnId>,
    weak_ref_columns: Vec<ColumnId>,
}

impl TableSchema {
    pub fn column_id(&self, name: &str) -> Option<ColumnId> {
        self.column_ids.get(name).copied()
    }

    pub fn column(&self, name: &str) -> Option<&ColumnSchema> {
        self.column_id(name).map(|id| &self.columns[id])
    }

    /// The columns with strong references (in keys or values).
    pub fn strong_ref_columns(&self) -> &[ColumnId] {
        &self.strong_ref_columns
    }

    /// The columns with weak references (in keys or values).
    pub fn weak_ref_columns(&self) -> &[ColumnId] {
        &self.weak_ref_columns
    }

    /// The columns a client may name in a row (everything but `_uuid` and
    /// `_version`).
    pub fn user_columns(&self) -> impl Iterator<Item = (ColumnId, &ColumnSchema)> {
        self.columns.iter().enumerate().skip(2)
    }

    pub fn has_refs(&self) -> bool {
        self.columns.iter().any(ColumnSchema::has_refs)
    }

    fn from_json(name: &str, json: &Json) -> Result<TableSchema> {
        let mut p = ObjectParser::new(json, "table schema")?;
        let columns_json = p.required_object("columns")?;
        let max_rows = match p.optional("maxRows") {
            None => None,
            Some(Json::Number(n)) if n.as_u64().is_some_and(|n| n >= 1) => n.as_u64(),
            Some(Json::Number(_)) => return Err(syntax(json, "maxRows must be at least 1")),
            Some(_) => return Err(syntax(json, "table schema: member 'maxRows' has the wrong type")),
        };
        let is_root = p.optional_bool("isRoot")?.unwrap_or(false);
        let indexes_json = p.optional_array("indexes")?;
        p.finish()?;
        if columns_json.is_empty() {
            return Err(syntax(json, "table must have at least one column"));
        }

        let mut columns = vec![
            ColumnSchema { mutable: false, ..ColumnSchema::new("_uuid", Type::scalar(AtomicType::Uuid)) },
            ColumnSchema { mutable: false, ..ColumnSchema::new("_version", Type::scalar(AtomicType::Uuid)) },
        ];
        let mut names: Vec<&String> = columns_json.keys().collect();
        names.sort();
        for col_name in names {
            if col_name.starts_with('_') {
                return Err(syntax(json, "names beginning with \"_\" are reserved"));
            }
            if !is_id(col_name) {
                return Err(syntax(json, format!("column name \"{col_name}\" is not a valid identifier")));
            }
            columns.push(ColumnSchema::from_json(col_name, &columns_json[col_name])?);
        }
        let column_ids = columns.iter().enumerate().map(|(i, c)| (c.name.clone(), i)).collect();
        let mut table = TableSchema {
            name: name.into(),
            columns,
            max_rows,
            is_root,
            indexes: Vec::new(),
            column_ids,
            strong_ref_columns: Vec::new(),
            weak_ref_columns: Vec::new(),
        };

        for index_json in indexes_json.into_iter().flatten() {
            let index = table.parse_column_set(index_json)?;
            if index.is_empty() {
                return Err(syntax(json, "index must have at least one column"));
            }
            if let Some(&c) = index.iter().find(|&&c| table.columns[c].ephemeral) {
                return Err(syntax(
                    json,
                    format!("ephemeral column {} may not be indexed", table.columns[c].name),
                ));
            }
            table.indexes.push(index);
        }
        Ok(table)
    }

    /// Parses `["col", ...]`: distinct names of this table's columns.
    pub fn parse_column_set(&self, json: &Json) -> Result<Vec<ColumnId>> {
        let bad = || syntax(json, "array of distinct column names expected");
        let Json::Array(a) = json else { return Err(bad()) };
        let mut out = Vec::with_capacity(a.len());
        for name in a {
            let Json::String(name) = name else { return Err(bad()) };
            let id = self
                .column_id(name)
                .ok_or_else(|| syntax(json, format!("{name} is not a valid column name")))?;
            if out.contains(&id) {
                return Err(bad());
            }
            out.push(id);
        }
        Ok(out)
    }

    fn to_json(&self, default_is_root: bool) -> Json {
        let mut obj = Map::new();
        let columns: Map<String, Json> = self.user_columns().map(|(_, c)| (c.name.clone(), c.to_json())).collect();
        obj.insert("columns".into(), Json::Object(columns));
        if let Some(n) = self.max_rows {
            obj.insert("maxRows".into(), n.into());
        }
        if self.is_root != default_is_root {
            obj.insert("isRoot".into(), self.is_root.into());
        }
        if !self.indexes.is_empty() {
            let indexes = self
                .indexes
                .iter()
                .map(|ix| Json::Array(ix.iter().map(|&c| self.columns[c].name.clone().into()).collect()))
                .collect();
            obj.insert("indexes".into(), Json::Array(indexes));
        }
        Json::Object(obj)
    }
}

#[derive(Debug, Clone)]
pub struct DatabaseSchema {
    pub name: String,
    /// "x.y.z", or empty for old schemas without one.
    pub version: String,
    pub cksum: Option<String>,
    /// In name order; a [`TableId`] indexes this.
    pub tables: Vec<TableSchema>,
    table_ids: Names<TableId>,
}

impl DatabaseSchema {
    pub fn from_json(json: &Json) -> Result<Arc<DatabaseSchema>> {
        let mut p = ObjectParser::new(json, "database schema")?;
        let name = p.required_id("name")?;
        let version = p.optional_string("version")?.unwrap_or("");
        let cksum = p.optional_string("cksum")?.map(str::to_string);
        let tables_json = p.required_object("tables")?;
        p.finish()?;
        if !version.is_empty() && parse_version(version).is_none() {
            return Err(syntax(json, format!("schema version \"{version}\" is not in the form x.y.z")));
        }

        let mut names: Vec<&String> = tables_json.keys().collect();
        names.sort();
        let mut tables = Vec::with_capacity(names.len());
        for table_name in names {
            if table_name.starts_with('_') {
                return Err(syntax(json, "names beginning with \"_\" are reserved"));
            }
            if !is_id(table_name) {
                return Err(syntax(json, format!("table name \"{table_name}\" is not a valid identifier")));
            }
            tables.push(TableSchema::from_json(table_name, &tables_json[table_name])?);
        }
        // Schemas older than "isRoot" have no garbage collection: every table is a root.
        if !tables.iter().any(|t| t.is_root) {
            tables.iter_mut().for_each(|t| t.is_root = true);
        }
        let table_ids: Names<TableId> = tables.iter().enumerate().map(|(i, t)| (t.name.clone(), i)).collect();

        for table in &mut tables {
            for column in &mut table.columns {
                column.key_ref = resolve_ref(&table_ids, &column.name, "key", column.ty.key.ref_table.as_deref(), column.ty.key.ref_type)?;
                if let Some(v) = &column.ty.value {
                    column.value_ref = resolve_ref(&table_ids, &column.name, "value", v.ref_table.as_deref(), v.ref_type)?;
                }
            }
            let with = |t: &TableSchema, has: fn(&ColumnSchema) -> bool| t.user_columns().filter(|(_, c)| has(c)).map(|(id, _)| id).collect();
            table.strong_ref_columns = with(table, ColumnSchema::has_strong_refs);
            table.weak_ref_columns = with(table, ColumnSchema::has_weak_refs);
        }
        Ok(Arc::new(DatabaseSchema { name: name.into(), version: version.into(), cksum, tables, table_ids }))
    }

    pub fn table_id(&self, name: &str) -> Option<TableId> {
        self.table_ids.get(name).copied()
    }

    pub fn table(&self, name: &str) -> Option<&TableSchema> {
        self.table_id(name).map(|id| &self.tables[id])
    }

    pub fn to_json(&self) -> Json {
        let mut obj = Map::new();
        obj.insert("name".into(), self.name.clone().into());
        if !self.version.is_empty() {
            obj.insert("version".into(), self.version.clone().into());
        }
        if let Some(c) = &self.cksum {
            obj.insert("cksum".into(), c.clone().into());
        }
        let default_is_root = self.tables.iter().all(|t| t.is_root);
        let tables = self.tables.iter().map(|t| (t.name.clone(), t.to_json(default_is_root))).collect();
        obj.insert("tables".into(), Json::Object(tables));
        Json::Object(obj)
    }
}

fn resolve_ref(
    ids: &Names<TableId>,
    column: &str,
    which: &str,
    ref_table: Option<&str>,
    ref_type: RefType,
) -> Result<Option<(TableId, RefType)>> {
    let Some(name) = ref_table else { return Ok(None) };
    match ids.get(name) {
        Some(&id) => Ok(Some((id, ref_type))),
        None => Err(Error::syntax(format!("column {column} {which} refers to undefined table {name}"))),
    }
}

/// Parses "x.y.z".
pub fn parse_version(s: &str) -> Option<(u32, u32, u32)> {
    let mut it = s.split('.');
    let mut part = || it.next().filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))?.parse().ok();
    let v = (part()?, part()?, part()?);
    it.next().is_none().then_some(v)
}

fn syntax(json: &Json, details: impl Into<String>) -> Error {
    Error::syntax_in(ErrorKind::SyntaxError, json, details)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn real_schemas_round_trip() {
        for file in ["ovn-nb.ovsschema", "ovn-sb.ovsschema", "vswitch.ovsschema"] {
            let path = format!("{}/../../schemas/{file}", env!("CARGO_MANIFEST_DIR"));
            let text = std::fs::read_to_string(&path).unwrap();
            let json: Json = serde_json::from_str(&text).unwrap();
            let schema = DatabaseSchema::from_json(&json).unwrap();
            // The files were taken from get_schema, so they are already normal.
            assert_eq!(schema.to_json(), json, "{file}");
        }
    }

    #[test]
    fn rejects_bad_schemas() {
        let cases = [
            json!({"name": "d", "tables": {"_t": {"columns": {"a": {"type": "string"}}}}}),
            json!({"name": "d", "tables": {"t": {"columns": {"_a": {"type": "string"}}}}}),
            json!({"name": "d", "version": "1.2", "tables": {}}),
            json!({"name": "d", "tables": {"t": {"columns": {"a": {"type": {"key": {"type": "uuid", "refTable": "nope"}}}}}}}),
            json!({"name": "d", "tables": {"t": {"columns": {"a": {"type": "string"}}, "maxRows": 0}}}),
            json!({"name": "d", "tables": {"t": {"columns": {"a": {"type": "string"}}, "indexes": [["b"]]}}}),
            json!({"name": "d", "tables": {"t": {"columns": {"a": {"type": "string", "ephemeral": true}}, "indexes": [["a"]]}}}),
            json!({"name": "d", "tables": {"t": {"columns": {}}}}),
            json!({"name": "d"}),
            json!({"name": "1d", "tables": {}}),
        ];
        for case in cases {
            let err = DatabaseSchema::from_json(&case).unwrap_err();
            assert_eq!(err.tag(), "syntax error", "{case}: {err}");
        }
    }

    #[test]
    fn all_root_when_none_declared() {
        let s = DatabaseSchema::from_json(&json!({"name": "d", "tables": {
            "a": {"columns": {"x": {"type": "string"}}},
            "b": {"columns": {"x": {"type": "string"}}}}}))
        .unwrap();
        assert!(s.tables.iter().all(|t| t.is_root));
        assert!(s.to_json()["tables"]["a"].get("isRoot").is_none());
    }

    #[test]
    fn versions() {
        assert_eq!(parse_version("7.0.0"), Some((7, 0, 0)));
        assert_eq!(parse_version("7.0"), None);
        assert_eq!(parse_version("7.0.0.1"), None);
        assert_eq!(parse_version("a.b.c"), None);
    }
}
