/*
 * The landing page (/): the same static links for everyone; the hall's device pages (kiosks,
 * displays, evaluators) are listed only once an admin has logged in (the one staff login),
 * from GET /api/v1/admin/devices — so a visitor's phone on the hall's network learns no
 * device names from it.
 */
(function () {
  "use strict";
  const PAGES = { kiosk: "/kiosk/", display: "/display/", evaluator: "/evaluate/" };

  async function showDevices(session) {
    const { devices } = await hallFetch("/admin/devices", { token: session.token });
    for (const [kind, path] of Object.entries(PAGES)) {
      const box = document.querySelector(`#device-links [data-kind="${kind}"]`);
      box.replaceChildren(...devices.filter((d) => d.kind === kind && !d.revoked).map((d) => {
        const link = document.createElement("a");
        link.href = path + encodeURIComponent(d.name);
        link.textContent = d.name;
        return link;
      }));
    }
    document.getElementById("devices-hint").hidden = true;
    document.getElementById("device-links").hidden = false;
  }

  hallStaff.login({
    roles: ["admin"],
    blocking: false,
    onReady: (session) => showDevices(session).catch((err) => {
      document.getElementById("devices-hint").textContent = err.message;
    }),
  });
})();
