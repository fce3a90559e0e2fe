// HoverTool callback of a report map: the record comes from the page's own data (no server).
// args: source (the points), label, id, text (column metas or null), fields (column metas),
// thumbs (data URIs), thumb (key of each point's index into thumbs, -1 for none, or "").
// Appended to card.js.
const card = projectorCard();
const indices = cb_data.index.indices;
if (!indices || indices.length === 0) { card.hide(); return; }
const i = indices[0];
const data = source.data;
card.mouse.want = i;
const name = (meta) => projectorValue(data, meta, i);
let title = "id " + name(id);
if (label !== null) title = label.name + ": " + name(label) + " · " + title;
const t = thumb ? data[thumb][i] : -1;
card.show(i, {
  title: title,
  text: text !== null ? name(text) : "",
  thumb: t >= 0 ? thumbs[t] : "",
  fields: fields.map((meta) => [meta.name, name(meta)]),
});
