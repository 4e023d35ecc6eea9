{{/* Chart name, shortened to the 63 characters a label value allows. */}}
{{- define "linnstream.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The release's base name: RELEASE-linnstream, or RELEASE when it already contains the
chart name. Truncated to 52 characters so suffixes such as "-operator-leader" stay valid.
*/}}
{{- define "linnstream.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "linnstream.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "linnstream.labels" -}}
helm.sh/chart: {{ include "linnstream.chart" . }}
app.kubernetes.io/name: {{ include "linnstream.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: linnstream
{{- end }}

{{/* Selector labels of one component: include with (dict "ctx" $ "component" "operator"). */}}
{{- define "linnstream.selectorLabels" -}}
app.kubernetes.io/name: {{ include "linnstream.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "linnstream.componentLabels" -}}
{{ include "linnstream.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "linnstream.operator.fullname" -}}
{{- printf "%s-operator" (include "linnstream.fullname" .) }}
{{- end }}

{{- define "linnstream.gateway.fullname" -}}
{{- printf "%s-gateway" (include "linnstream.fullname" .) }}
{{- end }}

{{- define "linnstream.console.fullname" -}}
{{- printf "%s-console" (include "linnstream.fullname" .) }}
{{- end }}

{{- define "linnstream.console.serviceAccountName" -}}
{{- if .Values.admin.serviceAccount.create }}
{{- default (include "linnstream.console.fullname" .) .Values.admin.serviceAccount.name }}
{{- else }}
{{- required "admin.serviceAccount.name is required when admin.serviceAccount.create is false" .Values.admin.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "linnstream.operator.serviceAccountName" -}}
{{- if .Values.operator.serviceAccount.create }}
{{- default (include "linnstream.operator.fullname" .) .Values.operator.serviceAccount.name }}
{{- else }}
{{- required "operator.serviceAccount.name is required when operator.serviceAccount.create is false" .Values.operator.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "linnstream.gateway.serviceAccountName" -}}
{{- if .Values.gateway.serviceAccount.create }}
{{- default (include "linnstream.gateway.fullname" .) .Values.gateway.serviceAccount.name }}
{{- else }}
{{- required "gateway.serviceAccount.name is required when gateway.serviceAccount.create is false" .Values.gateway.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The image the operator, the gateway and every child run. */}}
{{- define "linnstream.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* The Secret and key holding the PostgreSQL URL of the operator and the gateway. */}}
{{- define "linnstream.database.secretName" -}}
{{- if .Values.database.url }}
{{- printf "%s-database" (include "linnstream.fullname" .) }}
{{- else }}
{{- required "set database.existingSecret (a Secret holding the PostgreSQL URL) or, for a trial, database.url" .Values.database.existingSecret }}
{{- end }}
{{- end }}

{{- define "linnstream.database.secretKey" -}}
{{- if .Values.database.url }}
{{- print "url" }}
{{- else }}
{{- .Values.database.existingSecretKey }}
{{- end }}
{{- end }}

{{/* The config Secret the operator writes and the gateway and console watch. */}}
{{- define "linnstream.configSecret" -}}
{{- default (printf "%s-config" (include "linnstream.fullname" .)) .Values.configSecret }}
{{- end }}

{{/* The system settings, as the flags both binaries' clap definitions take (each value
     settings.fooBar is --foo-bar; the schema lists the names). */}}
{{- define "linnstream.settingsArgs" -}}
{{- $args := list -}}
{{- range $name, $value := .Values.settings -}}
{{- $args = append $args (printf "- --%s=%v" (kebabcase $name) $value) -}}
{{- end -}}
{{- join "\n" $args -}}
{{- end }}

{{/* Checks the schema cannot express. */}}
{{- define "linnstream.validate" -}}
{{- $s := .Values.settings }}
{{- $longest := mul $s.streamApiTimeoutSeconds (add $s.streamApiMaxRetryAttempts 1) }}
{{- if le (int $s.claimLeaseSeconds) (int $longest) }}
{{- fail (printf "settings.claimLeaseSeconds is %v; it must exceed the longest send, settings.streamApiTimeoutSeconds x (settings.streamApiMaxRetryAttempts + 1) = %v, or an order could be sent twice" $s.claimLeaseSeconds $longest) }}
{{- end }}
{{- end }}

{{/* The restricted pod and container security contexts. */}}
{{- define "linnstream.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "linnstream.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
readOnlyRootFilesystem: true
allowPrivilegeEscalation: false
privileged: false
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* policy/v1 where served (Kubernetes 1.21+; offline `helm template` says 1.20 unless given --kube-version), else policy/v1beta1. */}}
{{- define "linnstream.pdbApiVersion" -}}
{{- if or (.Capabilities.APIVersions.Has "policy/v1/PodDisruptionBudget") (semverCompare ">=1.21-0" .Capabilities.KubeVersion.Version) }}policy/v1{{ else }}policy/v1beta1{{ end }}
{{- end }}
