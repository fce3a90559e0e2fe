// Hover card for the map: the body of a Bokeh CustomJS callback of a HoverTool.
// args: endpoint (URL of the row endpoint, the row number is appended), query (appended after
// it: the columns the card shows, "?column=a&column=b", or "").
// The sample is fetched once per row and drawn with textContent / img.src only, so no value
// from the data is ever parsed as HTML.
const ID = "projector-tooltip";
let tip = document.getElementById(ID);
if (tip === null) {
  tip = document.createElement("div");
  tip.id = ID;
  tip.setAttribute("role", "tooltip");
  tip.className = "projector-tooltip";
  Object.assign(tip.style, {
    position: "fixed", zIndex: "10000", pointerEvents: "none", display: "none",
    background: "rgba(255,255,255,0.97)", border: "1px solid #999", borderRadius: "4px",
    padding: "6px 8px", font: "12px/1.35 system-ui, sans-serif", color: "#222",
    maxWidth: "300px", boxShadow: "0 2px 8px rgba(0,0,0,0.25)", overflowWrap: "anywhere",
  });
  document.body.appendChild(tip);
  const state = { rows: new Map(), x: 0, y: 0, want: -1, place: null };
  state.place = () => {
    const pad = 14, w = tip.offsetWidth, h = tip.offsetHeight;
    let left = state.x + pad, top = state.y + pad;
    if (left + w > window.innerWidth) left = Math.max(0, state.x - pad - w);
    if (top + h > window.innerHeight) top = Math.max(0, state.y - pad - h);
    tip.style.left = left + "px";
    tip.style.top = top + "px";
  };
  document.addEventListener("mousemove", (event) => {
    state.x = event.clientX;
    state.y = event.clientY;
    if (tip.style.display !== "none") state.place();
  }, { passive: true, capture: true });
  window.__projectorTip = state;
}
const state = window.__projectorTip;
const indices = cb_data.index.indices;
if (!indices || indices.length === 0) {
  state.want = -1;
  tip.style.display = "none";
  return;
}
const row = indices[0];
state.want = row;
const key = endpoint + row + (query || "");

function line(text, style) {
  const div = document.createElement("div");
  div.textContent = text;
  if (style) Object.assign(div.style, style);
  return div;
}

function draw(record) {
  if (state.want !== row) return;
  tip.replaceChildren();
  tip.dataset.row = String(row);
  if (record.thumb) {
    const img = document.createElement("img");
    img.src = record.thumb;
    img.alt = "";
    Object.assign(img.style, { display: "block", maxWidth: "128px", maxHeight: "128px", imageRendering: "auto", marginBottom: "4px" });
    tip.appendChild(img);
  }
  tip.appendChild(line(record.title, { fontWeight: "600" }));
  if (record.text) tip.appendChild(line(record.text, { margin: "2px 0", color: "#333" }));
  for (const [name, value] of record.fields) tip.appendChild(line(name + ": " + value, { color: "#555" }));
  tip.style.display = "block";
  state.place();
}

const known = state.rows.get(key);
if (known !== undefined) {
  draw(known);
} else {
  fetch(key, { credentials: "same-origin" })
    .then((response) => (response.ok ? response.json() : null))
    .then((record) => {
      if (record === null) return;
      if (state.rows.size > 5000) state.rows.clear();
      state.rows.set(key, record);
      draw(record);
    })
    .catch(() => {});
}
