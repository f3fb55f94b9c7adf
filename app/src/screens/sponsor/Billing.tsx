/**
 * The sponsor's billing: the status (off, active, past due, cancelled) and what it means for them, the subscription
 * (the base fee and the price per participant a month, the participants billed, and the month's total from them)
 * and Stripe's invoices with their amounts and whether they were paid. Every amount comes from the API's integer
 * cents; the month's total is worked out in BigInt. A server without Stripe says billing is off, plainly.
 */
import { api, call, type Schemas } from "../../api/client";
import { useI18n, type MessageKey } from "../../i18n";
import { session } from "../../session";
import { Money } from "../../ui/Money";
import { Empty, ErrorBox, Loading } from "../../ui/states";
import { useLoad } from "../../ui/useLoad";

type Billing = Schemas["BillingOut"];

const STATUS: Record<string, [MessageKey, MessageKey]> = {
  off: ["billOff", "billOffMeans"],
  active: ["billActive", "billActiveMeans"],
  past_due: ["billPastDue", "billPastDueMeans"],
  cancelled: ["billCancelled", "billCancelledMeans"],
};
const INVOICE: Record<string, MessageKey> = { paid: "billPaid", payment_failed: "billFailed", open: "billOpen" };

/** The month's charge: the base fee and the price of each participant billed, in cents. */
export function monthlyCents(billing: Billing): bigint {
  return BigInt(billing.base_fee_cents ?? 0) + BigInt(billing.participant_cents ?? 0) * BigInt(billing.quantity ?? 0);
}

async function loadBilling(): Promise<Billing | null> {
  const employerId = session.current()?.user?.employer_id;
  if (!employerId) return null;
  return call(api.GET("/v1/employers/{employer_id}/billing", { params: { path: { employer_id: employerId } } }));
}

export function BillingView({ billing }: { billing: Billing }) {
  const { t, locale } = useI18n();
  const day = (iso?: string | null) => iso ? new Date(`${iso}T12:00:00`).toLocaleDateString(locale, { dateStyle: "long" }) : "";
  const status = billing.status ?? "off";
  const [label, means] = STATUS[status] ?? STATUS.off;
  const invoices = billing.invoices ?? [];
  return (
    <>
      <section class={`card bill-${status}`} aria-labelledby="bill-status" data-testid="billing-status">
        <h2 id="bill-status">{t(label)}</h2>
        <p>{billing.configured === false ? t("billNotConfigured") : t(means)}</p>
        {status === "active" && billing.payment_failed_on && (
          <p class="notice warn" data-testid="billing-grace">
            {t("billGrace", { failed: day(billing.payment_failed_on), until: day(billing.past_due_on) })}
          </p>
        )}
      </section>
      {billing.base_fee_cents != null && (
        <section class="card" aria-labelledby="bill-subscription" data-testid="billing-subscription">
          <h2 id="bill-subscription">{t("billSubscription")}</h2>
          <dl class="pairs">
            <dt>{t("billBaseFee")}</dt><dd><Money cents={billing.base_fee_cents} /></dd>
            <dt>{t("billPerParticipant")}</dt><dd><Money cents={billing.participant_cents ?? 0} /></dd>
            <dt>{t("billQuantity")}</dt><dd data-testid="billing-quantity">{billing.quantity ?? 0}</dd>
            <dt>{t("billMonthly")}</dt><dd data-testid="billing-monthly"><Money cents={monthlyCents(billing)} /></dd>
          </dl>
          {billing.went_live_on && <p class="muted">{t("billSince", { date: day(billing.went_live_on) })}</p>}
        </section>
      )}
      <section class="card" aria-labelledby="bill-invoices">
        <h2 id="bill-invoices">{t("billInvoices")}</h2>
        {invoices.length === 0 ? <Empty>{t("billNoInvoices")}</Empty> : (
          <ul class="rows" data-testid="invoices">
            {invoices.map((invoice) => (
              <li key={invoice.id}>
                <span>{day(invoice.created_on)}</span>
                <span><Money cents={invoice.status === "paid" ? invoice.amount_paid_cents ?? 0
                  : invoice.amount_due_cents ?? 0} /></span>
                <span class={`invoice-${invoice.status}`}>{t(INVOICE[invoice.status ?? ""] ?? "billOpen")}</span>
              </li>
            ))}
          </ul>
        )}
      </section>
    </>
  );
}

export function Billing() {
  const { t } = useI18n();
  const loaded = useLoad(loadBilling);
  if (loaded.error) return <main class="screen"><ErrorBox error={loaded.error} onRetry={loaded.reload} /></main>;
  if (loaded.loading && !loaded.data) return <main class="screen"><Loading /></main>;
  return (
    <main class="screen wide">
      <h1>{t("billTitle")}</h1>
      {!loaded.data ? <Empty>{t("noPlan")}</Empty> : <BillingView billing={loaded.data} />}
    </main>
  );
}
