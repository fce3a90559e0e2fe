// HoverTool callback of a report map: the record comes from the page's own data (no server).
// args: source (the points), title (column), text (column or ""), thumb (column or ""),
// fields (columns shown as "name: value"). Appended to card.js.
const card = projectorCard();
const indices = cb_data.index.indices;
if (!indices || indices.length === 0) { card.hide(); return; }
const i = indices[0];
const data = source.data;
card.mouse.want = i;
card.show(i, {
  title: String(data[title][i]),
  text: text ? String(data[text][i] ?? "") : "",
  thumb: thumb ? String(data[thumb][i] ?? "") : "",
  fields: fields.map((name) => [name, String(data[name][i] ?? "")]),
});
