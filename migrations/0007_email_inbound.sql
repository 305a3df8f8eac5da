CREATE TABLE "email_messages" (
	"id" uuid PRIMARY KEY NOT NULL,
	"org_id" uuid NOT NULL,
	"message_id" text NOT NULL,
	"ticket_id" uuid,
	"ticket_message_id" uuid,
	"direction" text NOT NULL,
	"mailbox_id" uuid,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	"from_address" text,
	"subject" text,
	"decision" text NOT NULL,
	"kind" text DEFAULT 'normal' NOT NULL,
	"raw_storage_key" text
);
--> statement-breakpoint
ALTER TABLE "email_messages" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "email_quarantine" (
	"id" uuid PRIMARY KEY NOT NULL,
	"org_id" uuid,
	"mailbox_id" uuid,
	"reason" text NOT NULL,
	"error" text,
	"raw_storage_key" text NOT NULL,
	"via" text,
	"envelope_from" text,
	"status" text DEFAULT 'held' NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	"resolved_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "email_quarantine" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "email_messages" ADD CONSTRAINT "email_messages_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "email_messages" ADD CONSTRAINT "email_messages_ticket_id_tickets_id_fk" FOREIGN KEY ("ticket_id") REFERENCES "public"."tickets"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "email_messages" ADD CONSTRAINT "email_messages_mailbox_id_mailboxes_id_fk" FOREIGN KEY ("mailbox_id") REFERENCES "public"."mailboxes"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "email_quarantine" ADD CONSTRAINT "email_quarantine_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "email_quarantine" ADD CONSTRAINT "email_quarantine_mailbox_id_mailboxes_id_fk" FOREIGN KEY ("mailbox_id") REFERENCES "public"."mailboxes"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "email_messages_org_message_id_key" ON "email_messages" USING btree ("org_id","message_id");--> statement-breakpoint
CREATE INDEX "email_messages_ticket_idx" ON "email_messages" USING btree ("org_id","ticket_id","received_at");--> statement-breakpoint
CREATE INDEX "email_quarantine_org_status_idx" ON "email_quarantine" USING btree ("org_id","status","received_at");--> statement-breakpoint
CREATE POLICY "tenant_isolation" ON "email_messages" AS PERMISSIVE FOR ALL TO "switchboard_app" USING ("org_id" = app_current_org()) WITH CHECK ("org_id" = app_current_org());--> statement-breakpoint
CREATE POLICY "tenant_isolation" ON "email_quarantine" AS PERMISSIVE FOR ALL TO "switchboard_app" USING ("org_id" = app_current_org()) WITH CHECK ("org_id" = app_current_org());