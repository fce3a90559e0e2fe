// Colour-by switch of a report map. args: renderer, mappers (one per option), legends (HTML
// built and escaped in Python, one per option), legend (Div), bars (colour bars, or null).
const i = cb_obj.options.indexOf(cb_obj.value);
renderer.glyph.fill_color = { field: "c" + i, transform: mappers[i] };
renderer.nonselection_glyph.fill_color = "#c8c8c8";
legend.text = legends[i];
bars.forEach((bar, j) => { if (bar !== null) bar.visible = j === i; });
