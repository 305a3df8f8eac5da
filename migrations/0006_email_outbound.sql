CREATE TABLE "email_deliveries" (
	"id" uuid PRIMARY KEY NOT NULL,
	"org_id" uuid NOT NULL,
	"ticket_id" uuid NOT NULL,
	"mailbox_id" uuid,
	"kind" text NOT NULL,
	"cause_event_id" text NOT NULL,
	"ticket_message_id" uuid,
	"message_id" text NOT NULL,
	"in_reply_to" text,
	"references" text,
	"from_name" text,
	"from_address" text NOT NULL,
	"reply_to" text,
	"to_address" text NOT NULL,
	"subject" text NOT NULL,
	"body_text" text NOT NULL,
	"status" text DEFAULT 'queued' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_error" text,
	"smtp_response" text,
	"queued_at" timestamp with time zone DEFAULT now() NOT NULL,
	"sent_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "email_deliveries" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "mailboxes" (
	"id" uuid PRIMARY KEY NOT NULL,
	"org_id" uuid NOT NULL,
	"address" text NOT NULL,
	"name" text NOT NULL,
	"team_id" uuid,
	"inbound_method" text DEFAULT 'api' NOT NULL,
	"inbound_secret_hash" text,
	"outbound_from_name" text,
	"outbound_from_address" text,
	"reopen_resolved" boolean DEFAULT true NOT NULL,
	"google_group" boolean DEFAULT false NOT NULL,
	"metadata_only" boolean DEFAULT false NOT NULL,
	"is_default" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"deleted_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "mailboxes" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "email_deliveries" ADD CONSTRAINT "email_deliveries_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "email_deliveries" ADD CONSTRAINT "email_deliveries_ticket_id_tickets_id_fk" FOREIGN KEY ("ticket_id") REFERENCES "public"."tickets"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "email_deliveries" ADD CONSTRAINT "email_deliveries_mailbox_id_mailboxes_id_fk" FOREIGN KEY ("mailbox_id") REFERENCES "public"."mailboxes"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "mailboxes" ADD CONSTRAINT "mailboxes_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "mailboxes" ADD CONSTRAINT "mailboxes_team_id_teams_id_fk" FOREIGN KEY ("team_id") REFERENCES "public"."teams"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "email_deliveries_org_message_id_key" ON "email_deliveries" USING btree ("org_id","message_id");--> statement-breakpoint
CREATE UNIQUE INDEX "email_deliveries_cause_key" ON "email_deliveries" USING btree ("org_id","kind","cause_event_id","to_address");--> statement-breakpoint
CREATE INDEX "email_deliveries_ticket_idx" ON "email_deliveries" USING btree ("org_id","ticket_id","queued_at");--> statement-breakpoint
CREATE UNIQUE INDEX "mailboxes_org_address_key" ON "mailboxes" USING btree ("org_id","address") WHERE deleted_at is null;--> statement-breakpoint
CREATE UNIQUE INDEX "mailboxes_org_default_key" ON "mailboxes" USING btree ("org_id") WHERE is_default and deleted_at is null;--> statement-breakpoint
CREATE INDEX "mailboxes_org_team_idx" ON "mailboxes" USING btree ("org_id","team_id");--> statement-breakpoint
CREATE POLICY "tenant_isolation" ON "email_deliveries" AS PERMISSIVE FOR ALL TO "switchboard_app" USING ("org_id" = app_current_org()) WITH CHECK ("org_id" = app_current_org());--> statement-breakpoint
CREATE POLICY "tenant_isolation" ON "mailboxes" AS PERMISSIVE FOR ALL TO "switchboard_app" USING ("org_id" = app_current_org()) WITH CHECK ("org_id" = app_current_org());