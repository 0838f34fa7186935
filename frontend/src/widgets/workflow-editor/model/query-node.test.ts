import { describe, expect, it } from "vitest";
import type { UsableConnection } from "@/entities/connection";
import {
  connectionChoice,
  connectionLabel,
  isQueryParamShown,
  mongoPlaceholders,
  parseFieldMapping,
  queryPlaceholders,
  queryParam,
  sqlPlaceholders,
} from "./query-node";

const shop: UsableConnection = { name: "shop", kind: "postgres", readOnly: true };
const crm: UsableConnection = { name: "crm", kind: "mysql", readOnly: false };

describe("queryParam", () => {
  it("picks out the connection, SQL and field mapping of a Query node only", () => {
    expect(queryParam("query", "connection")).toBe("connection");
    expect(queryParam("query", "sql")).toBe("sql");
    expect(queryParam("query", "fields")).toBe("fields");
    expect(queryParam("query", "table")).toBeNull();
    expect(queryParam("condition", "sql")).toBeNull();
    expect(queryParam(undefined, "connection")).toBeNull();
  });
});

describe("isQueryParamShown", () => {
  it("hides the write-mode parameters while the node reads", () => {
    for (const op of [undefined, "", "read"]) {
      expect(isQueryParamShown("query", "table", op)).toBe(false);
      expect(isQueryParamShown("query", "columns", op)).toBe(false);
      expect(isQueryParamShown("query", "keyColumns", op)).toBe(false);
      expect(isQueryParamShown("query", "sql", op)).toBe(true);
      expect(isQueryParamShown("query", "connection", op)).toBe(true);
    }
  });

  it("shows table and columns for inserts, and key columns only for upserts", () => {
    expect(isQueryParamShown("query", "table", "insert")).toBe(true);
    expect(isQueryParamShown("query", "columns", "insert")).toBe(true);
    expect(isQueryParamShown("query", "keyColumns", "insert")).toBe(false);
    expect(isQueryParamShown("query", "table", "upsert")).toBe(true);
    expect(isQueryParamShown("query", "columns", " upsert ")).toBe(true);
    expect(isQueryParamShown("query", "keyColumns", "upsert")).toBe(true);
  });

  it("leaves other nodes' parameters alone", () => {
    expect(isQueryParamShown("condition", "table", undefined)).toBe(true);
    expect(isQueryParamShown(undefined, "keyColumns", "read")).toBe(true);
  });
});

describe("connectionChoice", () => {
  it("finds an allowed connection by its trimmed name", () => {
    expect(connectionChoice([crm, shop], " shop ")).toEqual({
      state: "allowed",
      connection: shop,
    });
  });

  it("keeps a name the client may not use, so the inspector can warn about it", () => {
    expect(connectionChoice([shop], "warehouse")).toEqual({ state: "unknown", name: "warehouse" });
    expect(connectionChoice([], "shop")).toEqual({ state: "unknown", name: "shop" });
  });

  it("treats a missing or blank value as no choice", () => {
    expect(connectionChoice([shop], undefined)).toEqual({ state: "empty" });
    expect(connectionChoice([shop], "  ")).toEqual({ state: "empty" });
    expect(connectionChoice([shop], 7)).toEqual({ state: "empty" });
  });
});

describe("connectionLabel", () => {
  it("names the kind and marks read-only connections", () => {
    expect(connectionLabel(shop)).toBe("shop (PostgreSQL, read-only)");
    expect(connectionLabel(crm)).toBe("crm (MySQL)");
  });
});

describe("parseFieldMapping", () => {
  it("reads columns, renames and types, one per line", () => {
    expect(parseFieldMapping("id: integer\ncustomer as name\ntotal as amount: Number")).toEqual({
      ok: true,
      fields: [
        { column: "id", name: "id", type: "integer" },
        { column: "customer", name: "name", type: "auto" },
        { column: "total", name: "amount", type: "number" },
      ],
    });
  });

  it("skips blank lines and comments and accepts the type aliases", () => {
    expect(parseFieldMapping("\n# the key\nid : int  # primary\n\ncreated: timestamp\n")).toEqual({
      ok: true,
      fields: [
        { column: "id", name: "id", type: "integer" },
        { column: "created", name: "created", type: "datetime" },
      ],
    });
    expect(parseFieldMapping("")).toEqual({ ok: true, fields: [] });
  });

  it("names the line of an unknown type", () => {
    const r = parseFieldMapping("id\ntotal: money");
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.line).toBe(2);
      expect(r.message).toContain("unknown type “money”");
    }
  });

  it("refuses a line that is neither a column nor a rename", () => {
    expect(parseFieldMapping("id\ncustomer name")).toMatchObject({ ok: false, line: 2 });
    expect(parseFieldMapping(": integer")).toMatchObject({
      ok: false,
      line: 1,
      message: "a column name is missing",
    });
  });

  it("refuses a name used twice", () => {
    expect(parseFieldMapping("id\nother_id as id")).toMatchObject({
      ok: false,
      line: 2,
      message: "the name “id” is used twice",
    });
  });
});

describe("sqlPlaceholders", () => {
  it("lists each named placeholder once, in order", () => {
    expect(
      sqlPlaceholders(
        "SELECT * FROM orders WHERE total > :min AND region = :region OR total > :min",
      ),
    ).toEqual(["min", "region"]);
  });

  it("ignores quoted text, comments and casts", () => {
    const sql = [
      "SELECT ':not', \"a:b\", created::date -- :comment",
      "FROM t /* :block */ WHERE x = 'it''s :quoted' AND y = :real_1",
    ].join("\n");
    expect(sqlPlaceholders(sql)).toEqual(["real_1"]);
  });

  it("stops at an unterminated quote without inventing names", () => {
    expect(sqlPlaceholders("SELECT :a, 'open :b")).toEqual(["a"]);
    expect(sqlPlaceholders("")).toEqual([]);
  });
});

describe("mongoPlaceholders", () => {
  it("finds the strings that are exactly :name, once each", () => {
    const doc =
      '{"find": "orders", "filter": {"total": {"$gt": ":min"}, "region": ":region", ' +
      '"note": "::literal", "path": "$customer", "x": ":min", "t": "10:30", "k": "a :b"}}';
    expect(mongoPlaceholders(doc)).toEqual(["min", "region"]);
    expect(mongoPlaceholders('{"a": "say \\":no\\""}')).toEqual([]);
  });

  it("is used for MongoDB connections only", () => {
    expect(queryPlaceholders("mongodb", '{"find": "o", "filter": {"a": ":a"}}')).toEqual(["a"]);
    expect(queryPlaceholders("postgres", "SELECT * FROM o WHERE a = :a")).toEqual(["a"]);
    expect(queryPlaceholders(undefined, "SELECT ':no', :yes")).toEqual(["yes"]);
  });
});
