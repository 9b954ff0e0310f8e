// What each cell of the notebook in JupyterLab's current tab holds and how it rendered.
// The outputs come from JupyterLab's own notebook model (what the kernel sent); the rest is
// read from the page (what a learner sees). tests/browser/lab.py turns this into problems.
() => {
  const WIDGET = "application/vnd.jupyter.widget-view+json";
  const panel = window.jupyterapp.shell.currentWidget;
  return panel.content.widgets.map((cell, index) => {
    const report = {
      index,
      type: cell.model.type,
      tags: cell.model.getMetadata("tags") || [],
      source: cell.model.sharedModel.getSource(),
      outputs: [],
    };
    if (report.type !== "code") {
      return report;
    }
    const nodes = cell.outputArea.node.querySelectorAll(":scope > .jp-OutputArea-child");
    cell.model.outputs.toJSON().forEach((output, position) => {
      const node = nodes[position];
      const data = output.data || {};
      const rendered = node && node.querySelector(":scope > .jp-OutputArea-output");
      report.outputs.push({
        outputType: output.output_type,
        error: output.output_type === "error" ? `${output.ename}: ${output.evalue}` : null,
        mimeTypes: Object.keys(data),
        widgetModel: data[WIDGET] ? data[WIDGET].model_id : null,
        found: Boolean(node),
        renderedAs: rendered ? rendered.dataset.mimeType || null : null,
        hidden: rendered ? rendered.classList.contains("lm-mod-hidden") : false,
        text: (rendered || node)?.innerText ?? "",
        images: node
          ? [...node.querySelectorAll("img")].map((img) => ({
              complete: img.complete,
              width: img.naturalWidth,
              height: img.naturalHeight,
            }))
          : [],
        liveWidgets: node
          ? node.querySelectorAll(".jupyter-widgets:not(.jupyter-widgets-error-widget)").length
          : 0,
        // ipywidgets' error icon shows the error when clicked, as a person would do.
        brokenWidgets: node
          ? [...node.querySelectorAll(".jupyter-widgets-error-widget")].map((broken) => {
              broken.click();
              return broken.innerText.trim();
            })
          : [],
        // Output widgets (interact) hold outputs of their own, outside the notebook model.
        nestedTracebacks: node
          ? [...node.querySelectorAll(".widget-output [data-mime-type='application/vnd.jupyter.stderr']")]
              .map((stderr) => stderr.innerText)
              .filter((text) => text.includes("Traceback (most recent call last)"))
          : [],
      });
    });
    return report;
  });
}
