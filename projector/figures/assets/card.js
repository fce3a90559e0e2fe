// The hover card shared by the app and the reports: defines projectorCard(), which returns
// {show(row, record), hide()}. A record is {title, text, thumb, fields: [[name, value], ...]}.
// Values are drawn with textContent and img.src only, so nothing from the data is parsed as HTML.
function projectorCard() {
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
    const mouse = { x: 0, y: 0, want: -1, rows: new Map() };
    mouse.place = () => {
      const pad = 14, w = tip.offsetWidth, h = tip.offsetHeight;
      let left = mouse.x + pad, top = mouse.y + pad;
      if (left + w > window.innerWidth) left = Math.max(0, mouse.x - pad - w);
      if (top + h > window.innerHeight) top = Math.max(0, mouse.y - pad - h);
      tip.style.left = left + "px";
      tip.style.top = top + "px";
    };
    document.addEventListener("mousemove", (event) => {
      mouse.x = event.clientX;
      mouse.y = event.clientY;
      if (tip.style.display !== "none") mouse.place();
    }, { passive: true, capture: true });
    window.__projectorTip = mouse;
  }
  const mouse = window.__projectorTip;
  function line(text, style) {
    const div = document.createElement("div");
    div.textContent = text;
    Object.assign(div.style, style);
    return div;
  }
  return {
    mouse: mouse,
    hide() { mouse.want = -1; tip.style.display = "none"; },
    show(row, record) {
      if (mouse.want !== row) return;
      tip.replaceChildren();
      tip.dataset.row = String(row);
      if (record.thumb) {
        const img = document.createElement("img");
        img.src = record.thumb;
        img.alt = "";
        Object.assign(img.style, { display: "block", maxWidth: "128px", maxHeight: "128px", marginBottom: "4px" });
        tip.appendChild(img);
      }
      tip.appendChild(line(record.title, { fontWeight: "600" }));
      if (record.text) tip.appendChild(line(record.text, { margin: "2px 0", color: "#333" }));
      for (const [name, value] of record.fields) tip.appendChild(line(name + ": " + value, { color: "#555" }));
      tip.style.display = "block";
      mouse.place();
    },
  };
}

// A cell of an encoded column: meta = {key, cats}. Categories travel as integer codes
// (-1 for missing) with their names listed once; numbers as typed arrays; text as strings.
function projectorValue(data, meta, i) {
  const v = data[meta.key][i];
  if (meta.cats) return v < 0 ? "" : meta.cats[v];
  if (v === null || v === undefined || (typeof v === "number" && Number.isNaN(v))) return "";
  if (typeof v === "number" && !Number.isInteger(v)) return String(Number(v.toPrecision(6)));
  return String(v);
}
