import { describe, expect, it } from "vitest";
import { graphOf } from "@/entities/workflow/testing";
import { createEditorStore } from "./editor-store";

const upper = { name: "text.upper", version: 1 };

function store() {
  return createEditorStore().getState;
}

describe("editor store undo/redo", () => {
  it("undoes and redoes adding a node", () => {
    const s = createEditorStore();
    const id = s.getState().addNode(upper, { x: 1, y: 2 });
    expect(id).toBe("upper_1");
    s.getState().undo();
    expect(s.getState().nodes).toEqual([]);
    s.getState().redo();
    expect(s.getState().nodes.map((n) => n.id)).toEqual(["upper_1"]);
  });

  it("undoes connect, update, move, delete and layout one step each", () => {
    const s = createEditorStore();
    const a = s.getState().addNode(upper, { x: 0, y: 0 });
    const b = s.getState().addNode(upper, { x: 100, y: 0 });
    s.getState().connect({ source: a, sourcePort: "text", target: b, targetPort: "text" });
    s.getState().updateNode(a, { notes: "n" });
    s.getState().beginMove();
    s.getState().moveNodes([{ id: a, position: { x: 5, y: 5 } }]);
    s.getState().moveNodes([{ id: a, position: { x: 9, y: 9 } }]);
    s.getState().setPositions({ [b]: { x: 500, y: 500 } });
    s.getState().select([a]);
    s.getState().removeSelected();
    expect(s.getState().nodes.map((n) => n.id)).toEqual([b]);
    expect(s.getState().edges).toEqual([]);

    s.getState().undo(); // delete
    expect(s.getState().edges).toHaveLength(1);
    s.getState().undo(); // layout
    expect(s.getState().nodes.find((n) => n.id === b)!.position).toEqual({ x: 100, y: 0 });
    s.getState().undo(); // whole drag
    expect(s.getState().nodes.find((n) => n.id === a)!.position).toEqual({ x: 0, y: 0 });
    s.getState().undo(); // notes
    expect(s.getState().nodes.find((n) => n.id === a)!.notes).toBeUndefined();
    s.getState().undo(); // connect
    expect(s.getState().edges).toEqual([]);
    s.getState().redo();
    s.getState().redo();
    expect(s.getState().edges).toHaveLength(1);
    expect(s.getState().nodes.find((n) => n.id === a)!.notes).toBe("n");
  });

  it("coalesces typing into one field into a single undo step", () => {
    const s = createEditorStore();
    const a = s.getState().addNode(upper, { x: 0, y: 0 });
    for (const v of ["h", "he", "hel"]) s.getState().updateNode(a, { params: { p: v } }, "param:p");
    s.getState().undo();
    expect(s.getState().nodes[0]!.params).toEqual({});
  });

  it("a new edit clears the redo stack and tracks unsaved changes", () => {
    const s = createEditorStore();
    s.getState().load(graphOf(["a", "text.upper"]));
    expect(s.getState().version).toBe(s.getState().savedVersion);
    s.getState().addNode(upper, { x: 0, y: 0 });
    expect(s.getState().version).not.toBe(s.getState().savedVersion);
    s.getState().undo();
    s.getState().addNode(upper, { x: 0, y: 0 });
    s.getState().redo();
    expect(s.getState().nodes).toHaveLength(2);
  });
});

describe("copy / paste", () => {
  it("copy takes the selection with its inner edges", () => {
    const get = store();
    get().load(graphOf(["a", "text.upper"], ["b", "text.upper"], ["c", "text.upper"]));
    get().connect({ source: "a", sourcePort: "text", target: "b", targetPort: "text" });
    get().connect({ source: "b", sourcePort: "text", target: "c", targetPort: "text" });
    expect(get().copy()).toBeNull();
    get().select(["a", "b"]);
    const clip = get().copy()!;
    expect(clip.nodes.map((n) => n.id)).toEqual(["a", "b"]);
    expect(clip.edges.map((e) => [e.source, e.target])).toEqual([["a", "b"]]);
  });

  it("paste offsets by 40/40, selects the copies and is one undo step", () => {
    const get = store();
    get().load(graphOf(["upper_1", "text.upper"]));
    get().select(["upper_1"]);
    const clip = get().copy()!;
    const ids = get().paste(clip);
    expect(ids).toEqual(["upper_2"]);
    expect(get().nodes[1]!.position).toEqual({ x: 40, y: 40 });
    expect([...get().selectedNodes]).toEqual(ids);
    expect(get().paste({ nodes: [], edges: [] })).toEqual([]);
    get().undo();
    expect(get().nodes.map((n) => n.id)).toEqual(["upper_1"]);
  });

  it("duplicate selects the copies and is one undo step", () => {
    const get = store();
    get().load(graphOf(["a", "text.upper"], ["b", "text.upper"]));
    get().selectAll();
    const ids = get().duplicate();
    expect(ids).toHaveLength(2);
    expect([...get().selectedNodes]).toEqual(ids);
    get().undo();
    expect(get().nodes.map((n) => n.id)).toEqual(["a", "b"]);
  });
});

describe("replace", () => {
  it("restoring a revision is one undoable step", () => {
    const get = store();
    get().load(graphOf(["a", "text.upper"]));
    get().replace(graphOf(["x", "text.upper"], ["y", "text.upper"]));
    expect(get().nodes.map((n) => n.id)).toEqual(["x", "y"]);
    get().undo();
    expect(get().nodes.map((n) => n.id)).toEqual(["a"]);
  });
});
