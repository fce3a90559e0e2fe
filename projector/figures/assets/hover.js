// Hover card for the app's map: the body of a Bokeh CustomJS callback, appended to card.js.
// args: endpoint (URL of the row endpoint, the row number is appended), query (appended after
// it: the columns the card shows, "?column=a&column=b", or ""), ask (null in a served page; in
// a notebook, which has no routes, the ColumnDataSource Python answers: see figures/hover.py).
// The sample is fetched once per row and drawn by card.js (textContent and img.src only).
const card = projectorCard();
const indices = cb_data.index.indices;
if (!indices || indices.length === 0) { card.hide(); card.mouse.asked = null; return; }
const row = indices[0];
card.mouse.want = row;
const key = endpoint + row + (query || "");
card.mouse.key = key;
const known = card.mouse.rows.get(key);
if (known !== undefined) {
  card.show(row, known);
} else if (ask) {
  // the answer arrives later (answer.js) and is drawn only if this row is still wanted
  if (card.mouse.asked !== key) {
    card.mouse.asked = key;
    ask.data = { key: [key], row: [row], query: [query || ""] };
  }
} else {
  fetch(key, { credentials: "same-origin" })
    .then((response) => (response.ok ? response.json() : null))
    .then((record) => {
      if (record === null) return;
      if (card.mouse.rows.size > 5000) card.mouse.rows.clear();
      card.mouse.rows.set(key, record);
      card.show(row, record);
    })
    .catch(() => {});
}
