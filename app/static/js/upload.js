// Shows how much of a workbook has been sent while htmx uploads it (the project's own code).
document.addEventListener("htmx:xhr:progress", function (event) {
  var bar = document.getElementById("upload-progress");
  if (!bar || !event.detail.lengthComputable) { return; }
  bar.hidden = false;
  var percent = Math.round((event.detail.loaded / event.detail.total) * 100);
  bar.value = percent;
  bar.textContent = percent + "%";
});
document.addEventListener("htmx:afterRequest", function () {
  var bar = document.getElementById("upload-progress");
  if (bar) { bar.hidden = true; bar.value = 0; }
});
