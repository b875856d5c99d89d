// view wraps a page: its element and a refresh that never overlaps itself.
export function view(el, load) {
  let busy = false;
  const v = {
    el,
    paused: false, // set while the page must hold still (a confirmation, a later page)
    async refresh() {
      if (busy) return;
      busy = true;
      try { await load(); } finally { busy = false; }
    },
  };
  return v;
}

// actionButton runs fn on click, disabled while it runs; errors go to flash.
export function wire(button, ctx, fn) {
  button.addEventListener('click', async (e) => {
    e.preventDefault();
    button.disabled = true;
    try {
      await fn();
    } catch (err) {
      ctx.flash(String(err.message || err), 'error');
    } finally {
      button.disabled = false;
    }
  });
  return button;
}
