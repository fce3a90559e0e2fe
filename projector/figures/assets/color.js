// Colour-by switch of report maps. args: renderers (every scatter of these points), mappers
// (one per option), legends (HTML built and escaped in Python, one per option), legend (Div),
// bars (colour bars, or null, per option; several per option when there are several maps).
const i = cb_obj.options.indexOf(cb_obj.value);
for (const renderer of renderers) {
  renderer.glyph.fill_color = { field: "c" + i, transform: mappers[i] };
  renderer.selection_glyph.fill_color = { field: "c" + i, transform: mappers[i] };
}
legend.text = legends[i];
bars.forEach((group, j) => { for (const bar of group) bar.visible = j === i; });
