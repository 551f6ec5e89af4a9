import { defineMailModels } from "@mail/../tests/mail_test_helpers";
import { beforeEach, describe, expect, test } from "@odoo/hoot";
import { waitFor } from "@odoo/hoot-dom";
import { animationFrame, Deferred } from "@odoo/hoot-mock";
import { browser } from "@web/core/browser/browser";
import { session } from "@web/session";
import {
    contains,
    makeServerError,
    mockService,
    mountView,
    onRpc,
    patchWithCleanup,
} from "@web/../tests/web_test_helpers";

describe.current.tags("desktop");
defineMailModels();
// The server's session says whether this user may sync (Settings may restrict it).
beforeEach(() => patchWithCleanup(session, { microsoft_contacts_may_sync: true }));

const VIEWS = {
    list: `
        <list js_class="microsoft_contacts_list">
            <field name="name"/>
        </list>`,
    kanban: `
        <kanban js_class="microsoft_contacts_kanban">
            <templates>
                <t t-name="card">
                    <field name="name"/>
                </t>
            </templates>
        </kanban>`,
};

const SYNC_BUTTON = ".o_control_panel .o_microsoft_contacts_sync_button";
const SYNC_STARTED = {
    type: "ir.actions.client",
    tag: "display_notification",
    params: { title: "Sync started", message: "Your contacts are on their way.", type: "info" },
};

for (const viewType of Object.keys(VIEWS)) {
    describe(viewType, () => {
        test("shows Sync with Outlook next to New", async () => {
            await mountView({ resModel: "res.partner", type: viewType, arch: VIEWS[viewType] });

            expect(SYNC_BUTTON).toHaveCount(1);
            expect(SYNC_BUTTON).toHaveText("Sync with Outlook");
            expect(SYNC_BUTTON).toBeEnabled();
        });

        test("hides Sync with Outlook from a user who may not sync", async () => {
            patchWithCleanup(session, { microsoft_contacts_may_sync: false });
            await mountView({ resModel: "res.partner", type: viewType, arch: VIEWS[viewType] });

            expect(`.o_${viewType}_view`).toHaveCount(1);
            expect(SYNC_BUTTON).toHaveCount(0);
        });

        test("the standard view has no Sync with Outlook", async () => {
            await mountView({
                resModel: "res.partner",
                type: viewType,
                arch: VIEWS[viewType].replace(/ js_class="[^"]*"/, ""),
            });

            expect(`.o_${viewType}_view`).toHaveCount(1);
            expect(SYNC_BUTTON).toHaveCount(0);
        });

        test("asks the server with the current address and runs its answer", async () => {
            browser.location.href = "/odoo/contacts?view_type=list";
            onRpc("microsoft.contacts.account", "action_sync_from_contacts", ({ args }) => {
                expect.step(["action_sync_from_contacts", ...args]);
                return SYNC_STARTED;
            });
            mockService("action", {
                doAction(action) {
                    expect.step(["doAction", action]);
                },
            });
            await mountView({ resModel: "res.partner", type: viewType, arch: VIEWS[viewType] });

            await contains(SYNC_BUTTON).click();

            expect.verifySteps([
                ["action_sync_from_contacts", "/odoo/contacts?view_type=list"],
                ["doAction", SYNC_STARTED],
            ]);
        });

        test("shows the synced contacts once the preview closes", async () => {
            const preview = {
                type: "ir.actions.act_window",
                res_model: "microsoft.contacts.sync.preview",
                views: [[false, "form"]],
                target: "new",
            };
            let closePreview;
            onRpc("microsoft.contacts.account", "action_sync_from_contacts", () => preview);
            onRpc("web_search_read", () => {
                expect.step("web_search_read");
            });
            mockService("action", {
                doAction(action, { onClose }) {
                    expect.step(["doAction", action.res_model]);
                    closePreview = onClose;
                },
            });
            await mountView({ resModel: "res.partner", type: viewType, arch: VIEWS[viewType] });
            expect.verifySteps(["web_search_read"]);

            await contains(SYNC_BUTTON).click();
            expect.verifySteps([["doAction", "microsoft.contacts.sync.preview"]]);

            closePreview();
            await animationFrame();
            expect.verifySteps(["web_search_read"]);
        });

        test("is disabled while the server answers", async () => {
            const answer = new Deferred();
            onRpc("microsoft.contacts.account", "action_sync_from_contacts", () => {
                expect.step("action_sync_from_contacts");
                return answer;
            });
            mockService("action", {
                doAction(action) {
                    expect.step(["doAction", action.tag]);
                },
            });
            await mountView({ resModel: "res.partner", type: viewType, arch: VIEWS[viewType] });

            await contains(SYNC_BUTTON).click();
            expect(SYNC_BUTTON).not.toBeEnabled();
            // A second click while pending sends nothing more.
            await contains(SYNC_BUTTON).click();
            expect.verifySteps(["action_sync_from_contacts"]);

            answer.resolve(SYNC_STARTED);
            await animationFrame();
            expect.verifySteps([["doAction", "display_notification"]]);
            expect(SYNC_BUTTON).toBeEnabled();
        });

        test("is enabled again when the server refuses", async () => {
            expect.errors(1);
            const answer = new Deferred();
            onRpc("microsoft.contacts.account", "action_sync_from_contacts", async () => {
                await answer;
                throw makeServerError({ message: "Outlook is not reachable" });
            });
            await mountView({ resModel: "res.partner", type: viewType, arch: VIEWS[viewType] });

            await contains(SYNC_BUTTON).click();
            expect(SYNC_BUTTON).not.toBeEnabled();
            answer.resolve();
            // The dialog comes after the browser's unhandledrejection event and one more render:
            // a single animation frame is not always enough when the machine is busy.
            await waitFor(".o_error_dialog");
            expect.verifyErrors(["Outlook is not reachable"]);
            expect(".o_error_dialog").toHaveCount(1);
            expect(SYNC_BUTTON).toBeEnabled();
        });
    });
}
