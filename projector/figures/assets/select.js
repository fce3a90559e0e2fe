// Selection of a report map changed: fill the table of selected samples and, for a single
// point, its nearest neighbours in the original space (precomputed at export time).
// args: source, table (CDS of the selection table), columns (column metas, see card.js), limit,
// count (Div), neighbors (flat int32 array, k per row, -1 for none), distances, k,
// maps ([links CDS, x column, y column] per map drawing these points), ntable (CDS of the
// neighbour table).
const rows = source.selected.indices;
const data = source.data;
const shown = rows.slice(0, limit);
const out = {};
out.row = shown.map((i) => data.row[i]);
for (const meta of columns) out[meta.key] = shown.map((i) => projectorValue(data, meta, i));
table.data = out;
const n = data["x"].length;
count.text = rows.length.toLocaleString() + " of " + n.toLocaleString() + " shown points selected" +
  (rows.length > limit ? " (table lists the first " + limit.toLocaleString() + ")" : "");
const segments = maps.map(() => ({ x0: [], y0: [], x1: [], y1: [] }));
const near = { rank: [], distance: [], row: [] };
for (const meta of columns) near[meta.key] = [];
if (rows.length === 1) {
  const i = rows[0];
  for (let j = 0; j < k; j++) {
    const other = neighbors[i * k + j];
    if (other < 0) continue;
    maps.forEach(([, xs, ys], m) => {
      segments[m].x0.push(data[xs][i]); segments[m].y0.push(data[ys][i]);
      segments[m].x1.push(data[xs][other]); segments[m].y1.push(data[ys][other]);
    });
    near.rank.push(j + 1);
    near.distance.push(distances[i * k + j]);
    near.row.push(data.row[other]);
    for (const meta of columns) near[meta.key].push(projectorValue(data, meta, other));
  }
}
maps.forEach(([links], m) => { links.data = segments[m]; });
ntable.data = near;
