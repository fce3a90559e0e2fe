// A hover record answered by Python (notebooks: figures/hover.py): the body of a CustomJS run when
// the "answer" source changes, appended to card.js. Every answer is kept by its key; it is drawn
// only while the pointer still wants that key, so a late answer for another row is ignored.
const card = projectorCard();
const keys = answer.data.key, records = answer.data.record;
if (!keys || keys.length === 0) return;
for (let i = 0; i < keys.length; i++) {
  const record = JSON.parse(records[i]);
  if (record === null) continue;
  if (card.mouse.rows.size > 5000) card.mouse.rows.clear();
  card.mouse.rows.set(keys[i], record);
  if (card.mouse.key === keys[i]) card.show(record.row, record);
}
