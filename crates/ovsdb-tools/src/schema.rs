//! Database schemas as Open vSwitch's tools hold them: tables and columns
//! in hash tables ([`Shash`]) filled in the order the schema's JSON
//! listed them, column indexes in that order, and the JSON written back in
//! the order Open vSwitch builds it. `list-tables`, `list-columns`,
//! `backup` and the schema record of `ovsdb-tool create` follow these
//! orders; the checks themselves are the `ovsdb` engine's.

use std::sync::Arc;

use ovsdb::AtomicType;
use ovsdb::schema::DatabaseSchema;
use ovsdb::types::{BaseType, RefType, Type};

use crate::data;
use crate::ovs_json::Json;
use crate::shash::Shash;

#[derive(Clone, Debug)]
pub struct Column {
    pub name: String,
    pub ty: Type,
    pub mutable: bool,
    /// Not ephemeral (or forced persistent: a strong reference to a
    /// non-root table must survive a restart).
    pub persistent: bool,
    /// Position in the table's column list: `_uuid` 0, `_version` 1, then
    /// the order of the schema's JSON.
    pub index: usize,
}

#[derive(Clone, Debug)]
pub struct TableSchema {
    pub name: String,
    pub mutable: bool,
    pub max_rows: Option<i64>,
    pub is_root: bool,
    pub columns: Shash<Column>,
    pub indexes: Vec<Vec<String>>,
}

impl TableSchema {
    /// Columns in index order.
    pub fn columns_by_index(&self) -> Vec<&Column> {
        let mut v: Vec<&Column> = self.columns.values().collect();
        v.sort_by_key(|c| c.index);
        v
    }
}

#[derive(Clone, Debug)]
pub struct Schema {
    pub name: String,
    /// Empty for schemas without a version.
    pub version: String,
    /// Empty for schemas without a checksum.
    pub cksum: String,
    pub tables: Shash<TableSchema>,
    /// The same schema as the engine holds it.
    pub engine: Arc<DatabaseSchema>,
}

impl Schema {
    /// Parses and checks a schema (`ovsdb_schema_from_json`).
    pub fn from_json(json: &Json) -> Result<Schema, ovsdb::Error> {
        // Open vSwitch accepts "mutable" on tables; the engine does not
        // know it, so check the schema without it.
        let mut checked = json.to_serde();
        if let Some(tables) = checked.get_mut("tables").and_then(|t| t.as_object_mut()) {
            for t in tables.values_mut() {
                if let Some(obj) = t.as_object_mut() {
                    obj.remove("mutable");
                }
            }
        }
        let engine = DatabaseSchema::from_json(&checked)?;

        let field = |name: &str| json.get(name).and_then(Json::as_str).unwrap_or("").to_string();
        let mut tables: Shash<TableSchema> = Shash::new();
        for (table_name, tjson) in json
            .get("tables")
            .and_then(Json::as_object)
            .into_iter()
            .flat_map(|t| t.iter())
        {
            let mut columns = Shash::new();
            let mut add = |c: Column| {
                let c = Column {
                    index: columns.len(),
                    ..c
                };
                columns.add(c.name.clone(), c);
            };
            let uuid = Type::scalar(AtomicType::Uuid);
            add(Column {
                name: "_uuid".into(),
                ty: uuid.clone(),
                mutable: false,
                persistent: true,
                index: 0,
            });
            add(Column {
                name: "_version".into(),
                ty: uuid,
                mutable: false,
                persistent: false,
                index: 0,
            });
            for (col_name, cjson) in tjson
                .get("columns")
                .and_then(Json::as_object)
                .into_iter()
                .flat_map(|c| c.iter())
            {
                let ty = Type::from_json(&cjson.get("type").map(Json::to_serde).unwrap_or_default())?;
                let weak = ty.key.is_weak_ref() || ty.value.as_ref().is_some_and(BaseType::is_weak_ref);
                let mutable = !matches!(cjson.get("mutable"), Some(Json::False)) || weak;
                let persistent = !matches!(cjson.get("ephemeral"), Some(Json::True));
                add(Column {
                    name: col_name.to_string(),
                    ty,
                    mutable,
                    persistent,
                    index: 0,
                });
            }
            let indexes = tjson
                .get("indexes")
                .and_then(Json::as_array)
                .map(|ixs| {
                    ixs.iter()
                        .map(|ix| {
                            ix.as_array()
                                .map(|a| a.iter().filter_map(Json::as_str).map(String::from).collect())
                                .unwrap_or_default()
                        })
                        .collect()
                })
                .unwrap_or_default();
            let max_rows = match tjson.get("maxRows") {
                Some(Json::Integer(n)) => Some(*n),
                _ => None,
            };
            let table = TableSchema {
                name: table_name.to_string(),
                mutable: !matches!(tjson.get("mutable"), Some(Json::False)),
                max_rows,
                is_root: engine.table(table_name).is_some_and(|t| t.is_root),
                columns,
                indexes,
            };
            tables.add(table_name, table);
        }

        // A strong reference to a non-root table must persist.
        let roots: Vec<(String, bool)> = tables.iter().map(|(n, t)| (n.to_string(), t.is_root)).collect();
        let is_root = |name: &str| roots.iter().any(|(n, r)| n == name && *r);
        let names: Vec<String> = tables.keys().map(String::from).collect();
        for name in names {
            let Some(table) = tables.get_mut(&name) else { continue };
            let cols: Vec<String> = table.columns.keys().map(String::from).collect();
            for c in cols {
                let Some(col) = table.columns.get_mut(&c) else { continue };
                let strong_to_non_root = [Some(&col.ty.key), col.ty.value.as_ref()]
                    .into_iter()
                    .flatten()
                    .any(|b| b.is_strong_ref() && b.ref_table.as_deref().is_some_and(|t| !is_root(t)));
                if strong_to_non_root {
                    col.persistent = true;
                }
            }
        }
        Ok(Schema {
            name: field("name"),
            version: field("version"),
            cksum: field("cksum"),
            tables,
            engine,
        })
    }

    /// Reads a schema file (`ovsdb_schema_from_file`); the error is the
    /// message Open vSwitch prints.
    pub fn from_file(path: &str) -> Result<Schema, String> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => {
                let why = format!("error opening \"{path}\": {}", crate::strerror(&e));
                return Err(format!(
                    "failed to read schema: \"{path}\" could not be read as JSON ({why})"
                ));
            }
        };
        let json = match Json::parse(&bytes) {
            Ok(j) => j,
            Err(e) => {
                return Err(format!(
                    "failed to read schema: \"{path}\" could not be read as JSON ({e})"
                ));
            }
        };
        Schema::from_json(&json).map_err(|e| {
            let wrapped = ovsdb::Error {
                details: if e.details.is_empty() {
                    format!("failed to parse \"{path}\" as ovsdb schema")
                } else {
                    format!("failed to parse \"{path}\" as ovsdb schema: {}", e.details)
                },
                ..e
            };
            data::error_text(&wrapped)
        })
    }

    /// The schema's JSON, members inserted as `ovsdb_schema_to_json` does.
    pub fn to_json(&self) -> Json {
        let mut json = Json::object();
        json.put("name", Json::string(&self.name));
        if !self.version.is_empty() {
            json.put("version", Json::string(&self.version));
        }
        if !self.cksum.is_empty() {
            json.put("cksum", Json::string(&self.cksum));
        }
        let default_is_root = self.tables.values().all(|t| t.is_root);
        let mut tables = Json::object();
        for (name, t) in self.tables.iter() {
            tables.put(name, table_to_json(t, default_is_root));
        }
        json.put("tables", tables);
        json
    }

    /// `ovsdb_schema_equal`: the same JSON, member order aside.
    pub fn equal(&self, other: &Schema) -> bool {
        self.to_json().equal(&other.to_json())
    }

    /// Tables sorted by name.
    pub fn tables_sorted(&self) -> Vec<&TableSchema> {
        self.tables.sorted().into_iter().map(|(_, t)| t).collect()
    }
}

fn table_to_json(t: &TableSchema, default_is_root: bool) -> Json {
    let mut json = Json::object();
    if !t.mutable {
        json.put("mutable", Json::False);
    }
    if default_is_root != t.is_root {
        json.put("isRoot", Json::bool(t.is_root));
    }
    let mut columns = Json::object();
    for (name, c) in t.columns.iter() {
        if !name.starts_with('_') {
            columns.put(name, column_to_json(c));
        }
    }
    json.put("columns", columns);
    if let Some(n) = t.max_rows {
        json.put("maxRows", Json::Integer(n));
    }
    if !t.indexes.is_empty() {
        let ixs = t
            .indexes
            .iter()
            .map(|ix| Json::Array(ix.iter().map(|c| Json::string(c.clone())).collect()))
            .collect();
        json.put("indexes", Json::Array(ixs));
    }
    json
}

fn column_to_json(c: &Column) -> Json {
    let mut json = Json::object();
    if !c.mutable {
        json.put("mutable", Json::False);
    }
    if !c.persistent {
        json.put("ephemeral", Json::True);
    }
    json.put("type", type_to_json(&c.ty));
    json
}

/// `ovsdb_type_to_json`, members in its order.
pub fn type_to_json(ty: &Type) -> Json {
    if ty.is_scalar() && !ty.key.has_constraints() {
        return base_to_json(&ty.key);
    }
    let mut json = Json::object();
    json.put("key", base_to_json(&ty.key));
    if let Some(v) = &ty.value {
        json.put("value", base_to_json(v));
    }
    if ty.min != 1 {
        json.put("min", Json::Integer(ty.min as i64));
    }
    if ty.max == u32::MAX {
        json.put("max", Json::string("unlimited"));
    } else if ty.max != 1 {
        json.put("max", Json::Integer(ty.max as i64));
    }
    json
}

fn base_to_json(b: &BaseType) -> Json {
    if !b.has_constraints() {
        return Json::string(b.atomic.name());
    }
    let mut json = Json::object();
    json.put("type", Json::string(b.atomic.name()));
    if let Some(values) = &b.enum_ {
        json.put("enum", data::datum_to_json(&ovsdb::Datum::Set(values.clone().into())));
    }
    match b.atomic {
        AtomicType::Integer => {
            if b.min_integer != i64::MIN {
                json.put("minInteger", Json::Integer(b.min_integer));
            }
            if b.max_integer != i64::MAX {
                json.put("maxInteger", Json::Integer(b.max_integer));
            }
        }
        AtomicType::Real => {
            if b.min_real != -f64::MAX {
                json.put("minReal", Json::Real(b.min_real));
            }
            if b.max_real != f64::MAX {
                json.put("maxReal", Json::Real(b.max_real));
            }
        }
        AtomicType::String => {
            if b.min_length != 0 {
                json.put("minLength", Json::Integer(b.min_length as i64));
            }
            if b.max_length != ovsdb::types::UNLIMITED_LENGTH {
                json.put("maxLength", Json::Integer(b.max_length as i64));
            }
        }
        AtomicType::Uuid => {
            if let Some(t) = &b.ref_table {
                json.put("refTable", Json::string(t.clone()));
                if b.ref_type == RefType::Weak {
                    json.put("refType", Json::string("weak"));
                }
            }
        }
        AtomicType::Boolean => {}
    }
    json
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_schemas_round_trip_as_json() {
        for file in ["ovn-nb.ovsschema", "ovn-sb.ovsschema", "vswitch.ovsschema"] {
            let path = format!("{}/../../schemas/{file}", env!("CARGO_MANIFEST_DIR"));
            let json = Json::parse(&std::fs::read(&path).unwrap()).unwrap();
            let schema = Schema::from_json(&json).unwrap();
            assert!(schema.to_json().equal(&json), "{file}");
            assert!(schema.equal(&Schema::from_json(&schema.to_json()).unwrap()));
            let t = schema.tables.values().next().unwrap();
            assert_eq!(t.columns_by_index()[0].name, "_uuid");
        }
    }

    #[test]
    fn forced_persistence() {
        let json = Json::parse(br#"{"name": "d", "tables": {
            "R": {"isRoot": true, "columns": {"c": {"type": {"key": {"type": "uuid", "refTable": "N"}}, "ephemeral": true}}},
            "N": {"columns": {"x": {"type": "integer", "ephemeral": true}}}}}"#)
        .unwrap();
        let s = Schema::from_json(&json).unwrap();
        assert!(s.tables.get("R").unwrap().columns.get("c").unwrap().persistent);
        assert!(!s.tables.get("N").unwrap().columns.get("x").unwrap().persistent);
    }
}
