/* Math in rendered script documentation.
   The server leaves formulas as written (\(...\) and \[...\] inside
   .arithmatex elements); KaTeX's auto-render typesets them here. Load after
   vendor/katex/katex.min.js and vendor/katex/contrib/auto-render.min.js.

   window.smRenderMath(element) typesets one element again, e.g. a live
   preview after its HTML was replaced; without an argument, every .sm-doc. */
(function () {
  "use strict";

  function options() {
    return {
      // "$$" before "$", or "$$x$$" would be read as two empty inline formulas.
      delimiters: [
        { left: "$$", right: "$$", display: true },
        { left: "\\[", right: "\\]", display: true },
        { left: "\\(", right: "\\)", display: false },
        { left: "$", right: "$", display: false },
      ],
      ignoredTags: ["script", "noscript", "style", "textarea", "pre", "code", "option"],
      // Already typeset: never parse KaTeX's own output a second time.
      ignoredClasses: ["katex", "katex-display"],
      throwOnError: false,
      errorColor: "var(--bs-danger)",
      // No \href, \url, \htmlClass and the like: documentation is not trusted HTML.
      trust: false,
      strict: "ignore",
      errorCallback: function (message, error) {
        console.warn("KaTeX:", message, error);
      },
    };
  }

  function renderMath(element) {
    if (typeof window.renderMathInElement !== "function") {
      console.warn("smRenderMath: KaTeX auto-render is not loaded");
      return;
    }
    var targets = element ? [element] : document.querySelectorAll(".sm-doc");
    Array.prototype.forEach.call(targets, function (target) {
      window.renderMathInElement(target, options());
    });
  }

  window.smRenderMath = renderMath;

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () {
      renderMath();
    });
  } else {
    renderMath();
  }
})();
